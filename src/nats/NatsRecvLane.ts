import type { RecvLane, RecvSink } from '../channel/Lane.js';
import { NetchanError } from '../errors/NetchanError.js';
import type { ValueCodec } from '../protocol/codec.js';
import type { ChannelNames } from './channelNames.js';
import { JetStreamPuller } from './JetStreamPuller.js';
import type { NatsEndpoint } from './NatsEndpoint.js';

/** Settings of a {@link NatsRecvLane}. */
export interface NatsRecvLaneConfig {
  readonly names: ChannelNames;
  /** Most values delivered and not yet acknowledged (`size`). */
  readonly window: number;
  /** Values to receive in all, then end; -1: unbounded. */
  readonly count: number;
  /** End and fail with the channel (its producers' records); false for an exported `'recv'` channel kept open. */
  readonly followLife: boolean;
}

/** Ms a refused value (the receiver holds too much already) waits before it is offered again. */
const REFUSED_DELAY = 1_000;

/** `ending`: no more values (count reached, or the channel completed), held ones still to be acknowledged. */
type Phase = 'binding' | 'open' | 'ending' | 'gone';

/**
 * A receiver's share of a channel's stream, as the channel that takes the
 * values sees a binding: a {@link JetStreamPuller} on the channel's shared
 * consumer (window `size`, limit `count`), decoding each value. `ack(seq)` is
 * the value's JetStream acknowledgement; `cancel()` gives back what is not
 * acknowledged (redelivered to the other receivers at once). The channel's
 * producers' records end it (completion) or fail it (an error).
 *
 * A value that cannot be decoded is terminated (never redelivered) and
 * reported; a value the sink refuses (it holds too much) is given back with
 * a delay.
 */
export class NatsRecvLane implements RecvLane {
  private phase: Phase = 'binding';
  private puller: JetStreamPuller | null = null;
  private delivered = 0;
  private stopLife: (() => void) | null = null;
  private untrack: () => void = () => undefined;
  private readonly limit: number;
  /** Set by open(). */
  private ep: NatsEndpoint | null = null;

  constructor(
    private readonly config: NatsRecvLaneConfig,
    private readonly sink: RecvSink,
    private readonly codec: ValueCodec,
  ) {
    this.limit = config.count < 0 ? Infinity : config.count;
  }

  get channel(): string {
    return this.config.names.channel;
  }

  /** Values delivered and not yet acknowledged. */
  get unacked(): number {
    return this.puller?.unacked ?? 0;
  }

  /**
   * Opens the lane on `endpoint` (once connected; null: closed before it
   * was): `check` first (the importer's registry lookup), then pulls. A
   * failure errors the sink.
   */
  async open(endpoint: NatsEndpoint | Promise<NatsEndpoint | null>, check?: () => Promise<void>): Promise<void> {
    let ep: NatsEndpoint | null;
    try {
      ep = await endpoint;
    } catch (e) {
      if (this.phase !== 'binding') return;
      this.phase = 'gone';
      this.sink.lost(this, e as NetchanError);
      return;
    }
    if (this.phase !== 'binding') return;
    if (ep === null) {
      this.phase = 'gone';
      this.sink.lost(this, undefined);
      return;
    }
    this.ep = ep;
    this.untrack = ep.track({ close: (reason) => this.close(reason) });
    let ackWait: number;
    try {
      await check?.();
      ({ ackWait } = await ep.channelReady(this.config.names));
    } catch (e) {
      if (this.phase !== 'binding') return;
      this.shutDown();
      this.sink.error(e instanceof NetchanError ? e : new NetchanError('EPROTO', `channel "${this.channel}": ${(e as Error).message}`, { cause: e }), this);
      return;
    }
    if (this.phase !== 'binding') return;
    this.phase = 'open';
    const names = this.config.names;
    this.puller = new JetStreamPuller(
      ep.nc,
      ep.jsm,
      {
        channel: names.channel,
        stream: names.stream,
        consumer: names.consumer,
        window: Math.max(1, this.config.window),
        limit: this.limit,
        ackWait,
        expires: ep.config.pullExpires,
        scheduler: ep.scheduler,
      },
      {
        value: (payload, seq) => this.value(payload, seq),
        error: (err) => this.fail(err),
      },
    );
    this.puller.start();
    if (this.config.followLife) {
      this.stopLife = ep.life(names).listen({ completed: () => this.complete(), failed: (err) => this.fail(err) });
    }
  }

  ack(seq: number): void {
    const p = this.puller;
    if (p === null) return;
    p.ack(seq);
    if (this.phase === 'ending' && p.unacked === 0) this.shutDown();
  }

  cancel(): void {
    this.shutDown();
  }

  private value(payload: Uint8Array, seq: number): void {
    if (this.phase !== 'open') return;
    let v: unknown;
    try {
      v = this.codec.decode(payload, this.channel);
    } catch (e) {
      // Not ours to judge further: it will never decode, so it must not come back (to anyone).
      this.puller?.term(seq);
      this.ep?.report(e instanceof NetchanError ? e : new NetchanError('EPROTO', `channel "${this.channel}": ${(e as Error).message}`, { cause: e }));
      return;
    }
    this.delivered++;
    if (this.sink.value(v, seq, this, payload.length) === false) {
      this.delivered--;
      this.puller?.nak(seq, REFUSED_DELAY);
      return;
    }
    if (this.delivered >= this.limit && this.phase === 'open') this.end();
  }

  /** No more values: the sink ends; the puller stops once what it holds is acknowledged. */
  private end(): void {
    this.phase = 'ending';
    this.stopLife?.();
    this.stopLife = null;
    this.sink.end(this);
    if ((this.puller?.unacked ?? 0) === 0) this.shutDown();
  }

  private complete(): void {
    this.stopLife = null;
    if (this.phase === 'open') this.end();
  }

  private fail(err: NetchanError): void {
    this.stopLife = null;
    if (this.phase === 'gone') return;
    this.shutDown();
    this.sink.error(err, this);
  }

  /** The endpoint closed: the sink loses the lane (`reason` unset for a clean close). */
  private close(reason?: NetchanError): Promise<void> {
    if (this.phase === 'gone') return Promise.resolve();
    const stopped = this.shutDown();
    this.sink.lost(this, reason);
    return stopped;
  }

  /** Stops pulling and gives back what is held; resolves once the server has it. */
  private shutDown(): Promise<void> {
    if (this.phase === 'gone') return Promise.resolve();
    this.phase = 'gone';
    this.untrack();
    this.stopLife?.();
    this.stopLife = null;
    const stopped = this.puller?.stop() ?? Promise.resolve();
    this.ep?.settle(stopped);
    return stopped;
  }
}
