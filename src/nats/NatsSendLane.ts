import { nuid } from '@nats-io/transport-node';
import type { ChannelProgress } from './ChannelWatch.js';
import type { LaneState, SendLane, SendLaneOwner } from '../channel/Lane.js';
import { NetchanError } from '../errors/NetchanError.js';
import type { ChannelNames } from './channelNames.js';
import { openProducer } from './channelRuns.js';
import { writeRecord } from './controlRecords.js';
import { JetStreamPublisher } from './JetStreamPublisher.js';
import type { NatsEndpoint } from './NatsEndpoint.js';

/** Settings of a {@link NatsSendLane}. */
export interface NatsSendLaneConfig {
  readonly names: ChannelNames;
  /** Publishes awaiting their PubAck at once (the lane's credit). */
  readonly window: number;
  /** Values to send in all; -1: unbounded. */
  readonly count: number;
  /** Stream sequences of values a lost predecessor stored and nobody has received yet: counted as unacknowledged here. */
  readonly inherited?: readonly number[];
}

/** What the lane's creator hears besides its owner. */
export interface NatsSendLaneHooks {
  /**
   * A value may be stored and cannot be retried, or is too big for NATS: the
   * channel must fail with `error` (its ERROR record is written already).
   * Without this hook the owner gets `onLost(lane, error, 'error')`.
   */
  fatal?(lane: NatsSendLane, error: NetchanError): void;
  /** The lane is lost with values surely not stored (handed back by `takeUnacked()`); called after the owner's `onLost`. */
  lost?(lane: NatsSendLane, error: NetchanError): void;
}

/** `binding`: not open yet (registry, records). `ending`: end() called, publishes outstanding. `ended`: END recorded or being recorded. */
type Phase = 'binding' | 'open' | 'ending' | 'ended' | 'gone';

/**
 * A producer's way into a channel's stream, as the channel's queue (its
 * Dispatcher) sees a binding. Its credit is the room for publishes awaiting
 * their PubAck, so the broker holds the queue, not this process; its
 * acknowledgements count values *received and acknowledged* by the channel's
 * receivers (the consumer's ack floor past each value's stream sequence), so
 * drain and sync mean what they mean on the direct transport: my values were
 * received.
 *
 * Opening records the producer (`open`), `end()` records END at the stream
 * sequence of its last value once every publish is stored, `fail()` records
 * the channel's error. A publish that may have been stored and cannot be
 * retried errors the channel (re-queueing could store it twice); one surely
 * not stored goes back to the channel's queue (`takeUnacked()`) with the lane
 * lost.
 *
 * ```
 * send:     a b c           (window 2)
 * PubAck:     a b   c       credit back
 * received:       a   b c   acked 1 2 3 (ack floor past each)
 * ```
 */
export class NatsSendLane implements SendLane {
  readonly channel: string;
  readonly window: number;
  sent = 0;
  /** Values received and acknowledged by receivers (cumulative, in send order). */
  acked = 0;
  private phase: Phase = 'binding';
  private publisher: JetStreamPublisher | null = null;
  /** Stream sequence of each value sent and not yet received, by lane sequence (0: not stored yet). */
  private readonly streamSeqs = new Map<number, number>();
  private inherited: number[];
  private notStored: Array<{ seq: number; payload: Uint8Array }> = [];
  private losing: NetchanError | null = null;
  private stopWatch: (() => void) | null = null;
  private untrack: () => void = () => undefined;
  private readonly limit: number;
  /** Set by open(). */
  private ep!: NatsEndpoint;

  constructor(
    private readonly config: NatsSendLaneConfig,
    private readonly owner: SendLaneOwner,
    private readonly hooks: NatsSendLaneHooks = {},
  ) {
    this.channel = config.names.channel;
    this.window = Math.max(1, config.window);
    this.limit = config.count < 0 ? Infinity : config.count;
    this.inherited = [...(config.inherited ?? [])];
  }

  get names(): ChannelNames {
    return this.config.names;
  }

  /** This lane's producer: its records and `Nats-Msg-Id`s. */
  readonly producerId = nuid.next();

  get state(): LaneState {
    return this.phase === 'gone' ? 'gone' : this.phase === 'ending' || this.phase === 'ended' ? 'ended' : 'open';
  }

  get credit(): number {
    if (this.phase !== 'open' || this.publisher === null || this.losing !== null) return 0;
    return Math.max(0, Math.min(this.publisher.credit, this.limit - this.sent));
  }

  get unacked(): number {
    return this.sent - this.acked - this.notStored.length + this.inherited.length;
  }

  get finished(): boolean {
    return this.phase === 'ended' && this.unacked === 0;
  }

  /**
   * Opens the lane on `endpoint` (once connected; null: closed before it
   * was): `check` first (the importer's registry lookup), then the
   * producer's record; then the owner may send. A failure loses the lane.
   */
  async open(endpoint: NatsEndpoint | Promise<NatsEndpoint | null>, check?: () => Promise<void>): Promise<void> {
    let ep: NatsEndpoint | null;
    try {
      ep = await endpoint;
    } catch (e) {
      this.lose(e as NetchanError, 'session');
      return;
    }
    if (ep === null) {
      this.lose(undefined, 'session');
      return;
    }
    if (this.phase === 'gone') {
      if (this.failedEarly !== null && !this.ep) {
        this.ep = ep;
        this.record({ state: 'error', ...this.failedEarly });
      }
      return;
    }
    this.ep = ep;
    this.untrack = ep.track({ close: (reason) => this.close(reason) });
    if (this.inherited.length > 0) this.follow();
    try {
      await check?.();
      await ep.channelReady(this.config.names);
      if (this.state === 'gone') return;
      const publisher = new JetStreamPublisher(
        this.ep.nc,
        {
          channel: this.channel,
          subject: this.config.names.subject,
          stream: this.config.names.stream,
          maxOutstanding: this.window,
          timeout: this.ep.config.publishTimeout,
          duplicateWindow: this.ep.config.duplicateWindow,
          producerId: this.producerId,
          scheduler: this.ep.scheduler,
        },
        {
          stored: (seq, streamSeq) => this.stored(seq, streamSeq),
          acked: () => this.publishesSettled(),
          failed: (seq, payload, error, maybeStored) => this.publishFailed(seq, payload, error, maybeStored),
        },
      );
      this.publisher = publisher;
      const opened = openProducer(this.ep, this.config.names, publisher.producerId);
      // END or ERROR must land after OPEN: the control stream keeps each producer's last record only.
      this.records = opened.catch(() => undefined);
      await opened;
    } catch (e) {
      this.lose(e instanceof NetchanError ? e : new NetchanError('EPROTO', `channel "${this.channel}": ${(e as Error).message}`, { cause: e }), 'error');
      return;
    }
    if (this.phase !== 'binding') return; // failed, released or closed meanwhile
    this.phase = 'open';
    if (this.endRequested) this.end();
    else this.owner.onWritable(this);
  }

  fits(payload: Uint8Array): boolean {
    return this.phase === 'binding' || payload.length <= this.ep.valueLimit(this.config.names.stream);
  }

  send(payload: Uint8Array): void {
    if (this.credit <= 0 || this.publisher === null) throw new NetchanError('EPROTO', `channel "${this.channel}": send without credit`);
    this.sent++;
    this.streamSeqs.set(this.sent, 0);
    this.publisher.send(payload);
    this.follow();
  }

  /** Too big for NATS (`max_payload`): nothing can carry it, so the channel fails with 'ETOOBIG'. */
  refuse(payload: Uint8Array): void {
    const err = new NetchanError(
      'ETOOBIG',
      `channel "${this.channel}": a value of ${payload.length} bytes does not fit in a NATS message (max_payload ${this.ep.maxPayload} bytes, less headers); keep values under ${this.ep.valueLimit(this.config.names.stream)} bytes on nats://`,
    );
    // Not from inside the Dispatcher's loop: it keeps the value queued and goes on first.
    this.losing = err;
    this.ep.scheduler.schedule(() => this.fatal(err));
  }

  private endRequested = false;

  end(): void {
    if (this.phase === 'binding') {
      this.endRequested = true;
      return;
    }
    if (this.phase !== 'open') return;
    this.phase = 'ending';
    this.maybeRecordEnd();
  }

  fail(error: { code: string; message: string }): void {
    if (this.phase === 'gone') return;
    this.shutDown();
    // Failed before NATS was reached (the channel errored while connecting): record it once the endpoint is there.
    if ((this.ep as NatsEndpoint | undefined) !== undefined) this.record({ state: 'error', code: error.code, message: error.message });
    else this.failedEarly = error;
  }

  private failedEarly: { code: string; message: string } | null = null;

  release(): void {
    this.shutDown();
  }

  takeUnacked(): Uint8Array[] {
    const back = this.notStored.sort((a, b) => a.seq - b.seq).map((v) => v.payload);
    this.notStored = [];
    return back;
  }

  /** The stream sequences of values stored and not yet received (for a successor lane). */
  unreceived(): number[] {
    return [...this.inherited, ...[...this.streamSeqs.values()].filter((s) => s > 0)];
  }

  // ---- the publisher ----

  private stored(seq: number, streamSeq: number): void {
    if (this.streamSeqs.has(seq)) this.streamSeqs.set(seq, streamSeq);
  }

  private publishesSettled(): void {
    if (this.phase === 'gone') return;
    if (this.losing !== null && this.publisher?.unacked === 0 && this.notStored.length > 0) {
      this.loseWithValues(this.losing);
      return;
    }
    this.maybeRecordEnd();
    this.owner.onAck(this); // credit came back
  }

  private publishFailed(seq: number, payload: Uint8Array, error: NetchanError, maybeStored: boolean): void {
    if (this.phase === 'gone') return;
    this.streamSeqs.delete(seq);
    if (maybeStored) {
      this.fatal(new NetchanError(error.code, `${error.message} (it may be stored: not sent again, so the channel fails)`, { cause: error }));
      return;
    }
    // Surely not stored: back to the channel's queue once the other publishes have settled.
    this.notStored.push({ seq, payload });
    this.losing ??= error;
    if (this.publisher?.unacked === 0) this.loseWithValues(this.losing);
  }

  // ---- receivers' acknowledgements ----

  /** Follows the consumer's ack floor while values wait to be received. */
  private follow(): void {
    if (this.stopWatch !== null || this.phase === 'gone' || this.unacked === 0) return;
    this.stopWatch = this.ep.watch(this.config.names).listen(
      (p) => this.floor(p),
      (e) => this.ep.report(e),
    );
  }

  private floor(progress: ChannelProgress): void {
    const floor = progress.receivedThrough;
    const before = this.acked + this.inherited.length;
    this.inherited = this.inherited.filter((s) => s > floor);
    for (;;) {
      const s = this.streamSeqs.get(this.acked + 1);
      if (s === undefined || s === 0 || s > floor) break;
      this.streamSeqs.delete(this.acked + 1);
      this.acked++;
    }
    if (this.unacked === 0) {
      this.stopWatch?.();
      this.stopWatch = null;
    }
    if (this.acked + this.inherited.length !== before) this.owner.onAck(this);
  }

  // ---- the end ----

  private maybeRecordEnd(): void {
    const p = this.publisher;
    if (this.phase !== 'ending' || p === null || p.unacked > 0) return;
    this.phase = 'ended';
    this.record({ state: 'end', seq: p.lastStreamSeq });
    if (this.finished) this.owner.onAck(this);
  }

  /** The channel must fail: ERROR recorded, then the hook (or the owner) is told. */
  private fatal(error: NetchanError): void {
    if (this.phase === 'gone') return;
    this.shutDown();
    this.record({ state: 'error', code: error.code, message: error.message });
    if (this.hooks.fatal) this.hooks.fatal(this, error);
    else this.owner.onLost(this, error, 'error');
  }

  /** Lost with values surely not stored: END for what was stored, the rest back to the queue. */
  private loseWithValues(error: NetchanError): void {
    const p = this.publisher;
    if (p !== null) this.record({ state: 'end', seq: p.lastStreamSeq });
    this.lose(error, 'error');
  }

  private lose(error: NetchanError | undefined, cause: 'error' | 'session'): void {
    if (this.phase === 'gone') return;
    this.shutDown();
    this.owner.onLost(this, error, cause);
    if (error && cause === 'error') this.hooks.lost?.(this, error);
  }

  /** The endpoint closed: the lane is lost with its session (`reason` unset for a clean close). */
  private close(reason?: NetchanError): void {
    if (this.phase === 'gone') return;
    this.shutDown();
    this.owner.onLost(this, reason, 'session');
  }

  private shutDown(): void {
    this.phase = 'gone';
    this.untrack();
    this.stopWatch?.();
    this.stopWatch = null;
    this.publisher?.close();
  }

  /** This producer's record writes, in order. */
  private records: Promise<void> = Promise.resolve();

  private record(r: { state: 'end' | 'error'; seq?: number; code?: string; message?: string }): void {
    const ep = this.ep as NatsEndpoint | undefined;
    if (ep === undefined || ep.closed || ep.nc.isClosed()) return;
    const write = (): Promise<void> =>
      writeRecord(ep.nc, ep.config, this.config.names, this.producerId, { ...r, live: ep.liveness.subject }).catch((e: unknown) => ep.report(e as NetchanError));
    this.records = this.records.then(write);
    ep.settle(this.records); // an END written just before close() still goes out
  }
}
