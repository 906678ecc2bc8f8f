import { NetchanError, type NetchanErrorCode } from './NetchanError.js';

const CODES: ReadonlySet<string> = new Set<NetchanErrorCode>([
  'ENOCHAN', 'EDIR', 'EEXIST', 'ETIMEDOUT', 'EPROTO', 'ETOOBIG', 'ECLOSED', 'EAUTH', 'EOVERFLOW', 'EREMOTE', 'EINVAL',
]);

/** Rebuilds an error received in an ERROR frame. Unknown codes become `'EREMOTE'`. */
export function remoteError(frame: unknown[]): NetchanError {
  const code = typeof frame[2] === 'string' && CODES.has(frame[2]) ? (frame[2] as NetchanErrorCode) : 'EREMOTE';
  const message = typeof frame[3] === 'string' ? frame[3] : 'remote error';
  return new NetchanError(code, message);
}

/** What an ERROR frame carries for a local error: its code if it has one, and its message. */
export function errorInfo(e: unknown, channel: string): { code: string; message: string } {
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : 'EREMOTE';
  const message = e instanceof Error ? e.message : String(e);
  return { code, message: message.includes(`"${channel}"`) ? message : `channel "${channel}": ${message}` };
}
