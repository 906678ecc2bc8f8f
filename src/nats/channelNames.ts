import { NetchanError } from '../errors/NetchanError.js';

/** The JetStream names one channel maps to. */
export interface ChannelNames {
  /** The channel's name as the user wrote it. */
  readonly channel: string;
  /** The stream holding the channel's values (one stream per channel). */
  readonly stream: string;
  /** The stream's only subject: where values are published. */
  readonly subject: string;
  /** The durable pull consumer every receiver of the channel shares (the work queue). */
  readonly consumer: string;
  /** Core NATS subject the channel's exporters answer on (registry: direction, liveness). */
  readonly registry: string;
  /** Where the channel's producers record their state: `<control>.<producerId>`, in the control stream. */
  readonly control: string;
}

const PREFIX = /^[A-Za-z0-9-]{1,32}$/;
/** Longest encoded name used as is; longer ones are cut and get a hash (file-store directory names stay short). */
const MAX_TOKEN = 80;

/**
 * Maps a channel name onto stream, subject and consumer names. Channel names
 * are any non-empty string; NATS names may not hold `.`, `*`, `>`, spaces or
 * path separators, so every byte outside `[A-Za-z0-9-]` is written `_XX` (hex
 * of its UTF-8 byte). The mapping is one-to-one for names up to 80 encoded
 * characters; past that a hash keeps names distinct (and provisioning checks
 * the stream's description, which holds the full name).
 *
 * ## Example
 * ```ts
 * channelNames('netchan', 'jobs.high');
 * // { stream: 'netchan_jobs_2Ehigh', subject: 'netchan.ch.jobs_2Ehigh', consumer: 'netchan', registry: 'netchan.reg.jobs_2Ehigh', control: 'netchan.ctl.jobs_2Ehigh' }
 * ```
 * @param prefix Names every stream and subject start with; `[A-Za-z0-9-]`, 1–32 characters.
 * @throws NetchanError `'EINVAL'` for an empty channel name or a bad prefix.
 */
export function channelNames(prefix: string, channel: string): ChannelNames {
  if (!PREFIX.test(prefix)) {
    throw new NetchanError('EINVAL', `NATS prefix "${prefix}" must be 1-32 characters of [A-Za-z0-9-]`);
  }
  if (typeof channel !== 'string' || channel.length === 0) {
    throw new NetchanError('EINVAL', 'a channel name must be a non-empty string');
  }
  let token = encodeToken(channel);
  if (token.length > MAX_TOKEN) token = `${token.slice(0, MAX_TOKEN - 15)}_${hash(channel)}`;
  return {
    channel,
    stream: `${prefix}_${token}`,
    subject: `${prefix}.ch.${token}`,
    consumer: prefix,
    registry: `${prefix}.reg.${token}`,
    control: `${prefix}.ctl.${token}`,
  };
}

/**
 * The stream holding every channel's producer records (`<prefix>.ctl.>`).
 * `__ctl` cannot come from a channel name: an encoded name has `_` only before
 * two upper-case hex digits.
 */
export function controlStreamName(prefix: string): string {
  return `${prefix}__ctl`;
}

function encodeToken(name: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(name)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9-]/.test(c) ? c : `_${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** 53-bit string hash (cyrb53), as 14 hex digits: names stay distinct, no crypto module needed. */
function hash(s: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}
