import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamManager } from '@nats-io/jetstream';
import { channelNames, type ChannelNames } from '../../src/nats/channelNames.js';
import { resolveNatsConfig, type NatsConfig } from '../../src/nats/NatsConfig.js';
import { provisionChannel, type ProvisionedChannel } from '../../src/nats/provisionChannel.js';
import { JetStreamPublisher } from '../../src/nats/JetStreamPublisher.js';
import { JetStreamPuller, type JetStreamPullerConfig } from '../../src/nats/JetStreamPuller.js';
import type { NetchanError } from '../../src/errors/NetchanError.js';
import { Waiters, within } from './async.js';

let serial = 0;
/** A channel name no other test uses. */
export const uniqueChannel = (what: string): string => `${what}.${process.pid}.${++serial}`;

/** Provisions `channel` as an exported 'send' channel with `config`. */
export async function provision(nc: NatsConnection, channel: string, config: NatsConfig = {}): Promise<ProvisionedChannel> {
  return provisionChannel(nc, channelNames('netchan', channel), 'send', resolveNatsConfig(config));
}

/** The value `i` as a payload (4 bytes, big-endian). */
export const payloadOf = (i: number): Uint8Array => new Uint8Array([i >>> 24, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff]);
export const valueOf = (p: Uint8Array): number => ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;

/** Publishes values `from … from+n-1`, pacing on credit; resolves with the publisher once all are stored. */
export async function publishRange(nc: NatsConnection, names: ChannelNames, n: number, from = 0, maxOutstanding = 64): Promise<JetStreamPublisher> {
  let next = from;
  let failure: NetchanError | null = null;
  let wake: () => void = () => undefined;
  const pub = new JetStreamPublisher(
    nc,
    { channel: names.channel, subject: names.subject, stream: names.stream, maxOutstanding, timeout: 2_000, duplicateWindow: 120_000 },
    { acked: () => wake(), failed: (_s, _p, e) => ((failure = e), wake()) },
  );
  const pump = () => {
    while (next < from + n && pub.credit > 0) pub.send(payloadOf(next++));
  };
  await within(
    new Promise<void>((resolve, reject) => {
      wake = () => {
        if (failure) reject(failure);
        pump();
        if (pub.acked === n) resolve();
      };
      pump();
    }),
    10_000,
    `publishing ${n} values`,
  );
  pub.close();
  return pub;
}

/** One delivered value as a probe saw it. */
export interface Got {
  value: number;
  seq: number;
  streamSeq: number;
}

/**
 * A JetStreamPuller that records what it receives; acknowledges each value
 * at once unless `manual`. `until()` waits on events, never polls.
 */
export class PullerProbe {
  readonly got: Got[] = [];
  /** Most values held unacknowledged at any delivery. */
  maxUnacked = 0;
  error: NetchanError | null = null;
  readonly puller: JetStreamPuller;
  private readonly waiters = new Waiters();

  constructor(nc: NatsConnection, jsm: JetStreamManager, p: ProvisionedChannel, config: Partial<JetStreamPullerConfig> & { window: number }, manual = false) {
    this.puller = new JetStreamPuller(
      nc,
      jsm,
      { channel: p.names.channel, stream: p.names.stream, consumer: p.names.consumer, ackWait: p.ackWait, ...config },
      {
        value: (payload, seq, streamSeq) => {
          this.got.push({ value: valueOf(payload), seq, streamSeq });
          this.maxUnacked = Math.max(this.maxUnacked, this.puller.unacked);
          if (!manual) this.puller.ack(seq);
          this.poke();
        },
        duplicate: () => this.poke(),
        error: (e) => {
          this.error = e;
          this.poke();
        },
      },
    );
    this.puller.start();
  }

  get values(): number[] {
    return this.got.map((g) => g.value);
  }

  until(pred: () => boolean, ms = 8_000, what = 'condition'): Promise<void> {
    return this.waiters.until(pred, ms, what);
  }


  count(n: number, ms?: number): Promise<void> {
    return this.until(() => this.got.length >= n, ms, `${n} values (have ${this.got.length})`);
  }

  /** Calls `fn` after every delivery and error; returns the remover. */
  listen(fn: () => void): () => void {
    return this.waiters.listen(fn);
  }

  private poke(): void {
    this.waiters.poke();
  }
}

/** Resolves once every probe together has `n` values (checked at each delivery). */
export function allCount(probes: PullerProbe[], n: number, ms = 8_000): Promise<void> {
  const total = () => probes.reduce((s, p) => s + p.got.length, 0);
  const removers: Array<() => void> = [];
  return within(
    new Promise<void>((resolve) => {
      const check = () => {
        if (total() >= n) resolve();
      };
      for (const p of probes) removers.push(p.listen(check));
      check();
    }),
    ms,
    `${n} values in all`,
  ).finally(() => removers.forEach((r) => r()));
}
