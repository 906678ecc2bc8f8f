import { nanos, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  jetstreamManager,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { NetchanError } from '../errors/NetchanError.js';
import type { ChannelNames } from './channelNames.js';
import type { ResolvedNatsConfig } from './NatsConfig.js';
import { JsCode, apiErrorCode, isTransient, toNetchanError } from './natsErrors.js';

/** A channel's direction as its exporter names it. */
export type ChannelDirection = 'send' | 'recv';

/** What {@link provisionChannel} found or made. */
export interface ProvisionedChannel {
  readonly names: ChannelNames;
  readonly stream: StreamInfo;
  readonly consumer: ConsumerInfo;
  /** The consumer's `ack_wait`, in ms (another exporter may have created it with its own). */
  readonly ackWait: number;
}

/** Gives up on a JetStream that stays unavailable (no meta leader, no quorum) after this long. */
const PROVISION_DEADLINE = 15_000;
/**
 * Per API request. Short, because nats-server 2.9 may never answer one of
 * several identical stream creations racing on a cluster (it merges them into
 * one proposal and replies to one requester); the retry then finds the stream.
 */
const API_TIMEOUT = 2_000;

/**
 * Creates the channel's stream and its durable work-queue consumer, or adopts
 * them if they exist. Idempotent and safe when several exporters start at
 * once: creating a stream with the same settings is a no-op on the server, a
 * consumer is only created when missing, and a lost race is settled by
 * reading what the winner made. The stream's description records the
 * direction and the full channel name, so an exporter of the other direction
 * fails with `'EDIR'` instead of sharing it. Settings of an existing stream or
 * consumer win over `config` (the first exporter sets them; on nats-server
 * 2.9, exporters creating the consumer at the same instant with different
 * settings leave the last one's, as 2.9 has no create-only action).
 *
 * @param dir The direction the exporter gives the channel.
 * @throws NetchanError `'EDIR'` (exported the other way), `'EEXIST'` (the
 * stream belongs to another channel or to something else), `'ETIMEDOUT'`
 * (JetStream unavailable for 15 s), or the mapped error of the server.
 */
export async function provisionChannel(
  nc: NatsConnection,
  names: ChannelNames,
  dir: ChannelDirection,
  config: ResolvedNatsConfig,
): Promise<ProvisionedChannel> {
  const jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT, checkAPI: false });
  const deadline = Date.now() + PROVISION_DEADLINE;
  const stream = await retry(deadline, names, () => ensureStream(jsm, names, dir, config));
  const consumer = await retry(deadline, names, () => ensureConsumer(jsm, names, config));
  return { names, stream, consumer, ackWait: Math.round((consumer.config.ack_wait ?? 30e9) / 1e6) };
}

/** The stream description: marks it as ours, with the direction and the exact channel name. */
export function streamDescription(dir: ChannelDirection, channel: string): string {
  return `rx-netchan ${dir} ${JSON.stringify(channel)}`;
}

/** Reads a description written by {@link streamDescription}; null if it is not ours. */
export function parseStreamDescription(description: string | undefined): { dir: ChannelDirection; channel: string } | null {
  const m = /^rx-netchan (send|recv) (".*")$/s.exec(description ?? '');
  if (!m) return null;
  try {
    return { dir: m[1] as ChannelDirection, channel: JSON.parse(m[2]!) as string };
  } catch {
    return null;
  }
}

async function ensureStream(jsm: JetStreamManager, names: ChannelNames, dir: ChannelDirection, config: ResolvedNatsConfig): Promise<StreamInfo> {
  const cfg: Partial<StreamConfig> & { name: string } = {
    name: names.stream,
    description: streamDescription(dir, names.channel),
    subjects: [names.subject],
    retention: { workqueue: RetentionPolicy.Workqueue, interest: RetentionPolicy.Interest, limits: RetentionPolicy.Limits }[config.retention],
    storage: config.storage === 'memory' ? StorageType.Memory : StorageType.File,
    num_replicas: config.replicas,
    duplicate_window: nanos(config.duplicateWindow),
    max_msgs: config.maxMsgs,
    max_bytes: config.maxBytes,
    // A full stream refuses new values (the publisher waits and retries) instead of dropping old ones.
    discard: DiscardPolicy.New,
  };
  let info: StreamInfo | null = null;
  // Look first: the usual case is a stream that exists (a restart, a second exporter).
  try {
    info = await jsm.streams.info(names.stream);
  } catch (e) {
    if (apiErrorCode(e) !== JsCode.StreamNotFound) throw e;
  }
  if (info === null) {
    try {
      info = await jsm.streams.add(cfg);
    } catch (e) {
      // Made meanwhile with other settings (another exporter's options, or direction): read it.
      if (apiErrorCode(e) !== JsCode.StreamNameInUse) throw e;
      info = await jsm.streams.info(names.stream);
    }
  }
  const owner = parseStreamDescription(info.config.description);
  if (owner === null || owner.channel !== names.channel) {
    throw new NetchanError('EEXIST', `channel "${names.channel}": stream ${names.stream} exists and is not this channel's (${info.config.description ?? 'no description'})`);
  }
  if (owner.dir !== dir) {
    throw new NetchanError('EDIR', `channel "${names.channel}" is already exported for '${owner.dir}' on NATS; cannot export it for '${dir}'`);
  }
  return info;
}

async function ensureConsumer(jsm: JetStreamManager, names: ChannelNames, config: ResolvedNatsConfig): Promise<ConsumerInfo> {
  // Only create when missing: creating over an existing durable updates it, and
  // a second exporter must not rewrite the first one's settings.
  try {
    return await jsm.consumers.info(names.stream, names.consumer);
  } catch (e) {
    if (apiErrorCode(e) !== JsCode.ConsumerNotFound) throw e;
  }
  const cfg: Partial<ConsumerConfig> = {
    durable_name: names.consumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(config.ackWait),
    max_deliver: config.maxDeliver,
    max_ack_pending: config.maxAckPending,
    max_waiting: config.maxWaiting,
  };
  try {
    return await jsm.consumers.add(names.stream, cfg);
  } catch (e) {
    // A concurrent exporter created it first with other settings: take theirs.
    const existing = await jsm.consumers.info(names.stream, names.consumer).catch(() => null);
    if (existing) return existing;
    throw e;
  }
}

async function retry<T>(deadline: number, names: ChannelNames, op: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (e instanceof Error && e.name === 'NetchanError') throw e;
      if (!isTransient(e) && apiErrorCode(e) !== JsCode.StreamNotFound) {
        throw toNetchanError(e, `channel "${names.channel}": cannot set up stream ${names.stream}`);
      }
      if (Date.now() >= deadline) {
        throw new NetchanError('ETIMEDOUT', `channel "${names.channel}": JetStream unavailable for ${PROVISION_DEADLINE} ms while setting up stream ${names.stream}`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** attempt)));
    }
  }
}
