import type { Authenticator, TlsOptions } from '@nats-io/transport-node';
import { NetchanError } from '../errors/NetchanError.js';

/** Where a stream keeps its values. */
export type NatsStorage = 'file' | 'memory';

/**
 * When the stream forgets a value. `'workqueue'` (the default): once a receiver
 * acknowledged it. `'interest'`: once every consumer acknowledged it (other,
 * non-netchan consumers may then read the channel too). `'limits'`: only by
 * `maxMsgs`/`maxBytes` (an audit log of the channel).
 */
export type NatsRetention = 'workqueue' | 'interest' | 'limits';

/**
 * Options of the `nats://` scheme: the connection, and how each channel's
 * stream and consumer are set up. Every duration is in milliseconds.
 */
export interface NatsConfig {
  /** More seed servers besides the URL's (`'nats://host:port'`). Defaults to none. */
  servers?: readonly string[];
  /** User name (with `pass`). Defaults to none. */
  user?: string;
  /** Password for `user`. */
  pass?: string;
  /** Token authentication. Defaults to none. */
  token?: string;
  /** Contents of a `.creds` file (JWT and NKey seed). Defaults to none. */
  creds?: string | Uint8Array;
  /** Any other nats.js authenticator (NKey, JWT); wins over the fields above. */
  authenticator?: Authenticator;
  /** TLS options (CA, client certificate); `tls://` URLs turn TLS on. Defaults to none. */
  tls?: TlsOptions;
  /** Client name shown by the server's monitoring. Defaults to `'rx-netchan'`. */
  name?: string;
  /** First token of every subject and stream name, `[A-Za-z0-9-]`, so several deployments can share one NATS. Defaults to `'netchan'`. */
  prefix?: string;
  /** Stream replicas: 1, or 3 (or 5) on a cluster to survive node loss. Defaults to 1. */
  replicas?: number;
  /** Defaults to `'workqueue'`. */
  retention?: NatsRetention;
  /** Defaults to `'file'` (survives a server restart). */
  storage?: NatsStorage;
  /** Publishes retried within this window are stored once (JetStream `duplicate_window`). Defaults to 120 000 (2 min). */
  duplicateWindow?: number;
  /** Most values a channel's stream holds; a full stream refuses publishes (senders wait) rather than drop values. Defaults to -1 (no limit). */
  maxMsgs?: number;
  /** Most bytes a channel's stream holds, as `maxMsgs`. Defaults to -1 (no limit). */
  maxBytes?: number;
  /** How long a value delivered and not acknowledged stays with its receiver before redelivery (`ack_wait`); covers receivers that vanish without a word. Defaults to 30 000. */
  ackWait?: number;
  /** Deliveries of one value before JetStream gives up on it (`max_deliver`). Defaults to -1 (never: nothing is lost). */
  maxDeliver?: number;
  /** Values delivered and unacknowledged across all receivers of a channel (`max_ack_pending`); each receiver's window bounds its own share. Defaults to 65 536. */
  maxAckPending?: number;
  /** Pull requests a channel's consumer holds at once (`max_waiting`; each receiver uses up to 2). Fixed when the consumer is created. Defaults to 4 096. */
  maxWaiting?: number;
  /** Milliseconds to wait for one publish's acknowledgement before retrying it. Defaults to 5 000. */
  publishTimeout?: number;
  /** How long one pull request waits on the server for values (`expires`); idle heartbeats come every fifth of it. Defaults to 10 000. */
  pullExpires?: number;
  /** Milliseconds between reconnect attempts to one server. Defaults to 250. */
  reconnectTimeWait?: number;
  /**
   * An exporter's own window on each of its channels: values it pulls at once
   * for an exported `'recv'` channel (several exporter processes share the
   * work), publishes awaiting their stream's acknowledgement for an exported
   * `'send'` channel. Imports use their `size`. Defaults to 256.
   */
  window?: number;
}

/** {@link NatsConfig} with every default applied. */
export type ResolvedNatsConfig = Required<Omit<NatsConfig, 'user' | 'pass' | 'token' | 'creds' | 'authenticator' | 'tls'>> &
  Pick<NatsConfig, 'user' | 'pass' | 'token' | 'creds' | 'authenticator' | 'tls'>;

/**
 * Applies the defaults and checks the numbers.
 * @throws NetchanError `'EINVAL'` naming the option that is out of range.
 */
export function resolveNatsConfig(config: NatsConfig = {}): ResolvedNatsConfig {
  const r: ResolvedNatsConfig = {
    ...config,
    servers: config.servers ?? [],
    name: config.name ?? 'rx-netchan',
    prefix: config.prefix ?? 'netchan',
    replicas: config.replicas ?? 1,
    retention: config.retention ?? 'workqueue',
    storage: config.storage ?? 'file',
    duplicateWindow: config.duplicateWindow ?? 120_000,
    maxMsgs: config.maxMsgs ?? -1,
    maxBytes: config.maxBytes ?? -1,
    ackWait: config.ackWait ?? 30_000,
    maxDeliver: config.maxDeliver ?? -1,
    maxAckPending: config.maxAckPending ?? 65_536,
    maxWaiting: config.maxWaiting ?? 4_096,
    publishTimeout: config.publishTimeout ?? 5_000,
    pullExpires: config.pullExpires ?? 10_000,
    reconnectTimeWait: config.reconnectTimeWait ?? 250,
    window: config.window ?? 256,
  };
  check('replicas', r.replicas, 1, 5);
  check('duplicateWindow', r.duplicateWindow, 100, Number.MAX_SAFE_INTEGER);
  check('ackWait', r.ackWait, 100, Number.MAX_SAFE_INTEGER);
  check('maxWaiting', r.maxWaiting, 1, Number.MAX_SAFE_INTEGER);
  check('publishTimeout', r.publishTimeout, 1, Number.MAX_SAFE_INTEGER);
  // Each pull request carries idle heartbeats at a fraction of it; under a second the server is asked too often.
  check('pullExpires', r.pullExpires, 1_000, Number.MAX_SAFE_INTEGER);
  check('reconnectTimeWait', r.reconnectTimeWait, 0, Number.MAX_SAFE_INTEGER);
  check('window', r.window, 1, 1_000_000);
  for (const k of ['maxMsgs', 'maxBytes', 'maxDeliver', 'maxAckPending'] as const) {
    if (r[k] !== -1) check(k, r[k], 1, Number.MAX_SAFE_INTEGER);
  }
  if (!['workqueue', 'interest', 'limits'].includes(r.retention)) {
    throw new NetchanError('EINVAL', `NATS option retention must be 'workqueue', 'interest' or 'limits', not ${JSON.stringify(r.retention)}`);
  }
  if (!['file', 'memory'].includes(r.storage)) {
    throw new NetchanError('EINVAL', `NATS option storage must be 'file' or 'memory', not ${JSON.stringify(r.storage)}`);
  }
  return r;
}

function check(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new NetchanError('EINVAL', `NATS option ${name} must be an integer in [${min}, ${max}], not ${v}`);
  }
}
