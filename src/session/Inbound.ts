import type { RecvLane, RecvSink } from '../channel/Lane.js';
import { NetchanError } from '../errors/NetchanError.js';
import { MAX_INFLIGHT_BYTES } from '../protocol/limits.js';
import { Deque } from '../util/Deque.js';
import type { Session } from './Session.js';

/**
 * `'open'`: receiving. `'ending'`: the sender's END (or `count`) is known and
 * every value has arrived; waiting for manual acknowledgements. `'gone'`: over.
 */
export type InboundState = 'open' | 'ending' | 'gone';

/**
 * The receiving side of one binding. Counts what arrived, enforces the window
 * the sender must respect (in values and in bytes), drops values a resumed
 * sender sends again, and acknowledges cumulatively: once per flush, with the
 * highest sequence whose value (and every one before it) was delivered or, in
 * manual mode, processed.
 */
export class Inbound implements RecvLane {
  state: InboundState = 'open';
  /** Highest sequence received (values arrive in order). */
  received = 0;
  /** Highest sequence acknowledged on the wire so far (cumulative). */
  acked = 0;
  /** Highest sequence ready to acknowledge; written at the next flush. */
  ackable = 0;
  /** Sequence number the next DATA frame carries (REPLAY moves it back after a resume). */
  private next = 1;
  /** The sender's total (END, or an ERROR after `n` values), or `limit`. */
  private endAt: number;
  private failure: NetchanError | null = null;
  /** Out-of-order manual acks above `ackable`. */
  private early: Set<number> | null = null;
  /** Sizes of the values received and not yet acknowledged on the wire, oldest first. */
  private readonly sizes = new Deque<number>();
  private unackedBytes = 0;
  /** Acknowledge mid-tick once this many are ready (half the window, at least 32). */
  readonly earlyAckAt: number;
  /** The sender may grow the window from `start` up to `window`. */
  readonly adaptive: boolean;
  /** In the session's queue of acknowledgements to write. */
  ackQueued = false;

  constructor(
    readonly session: Session,
    readonly id: number,
    readonly channel: string,
    /** Most values the sender may have unacknowledged: the window, or an adaptive window's cap. */
    readonly window: number,
    /** Values to receive before completing (`count`), or Infinity. */
    readonly limit: number,
    public sink: RecvSink,
    /** The window the sender starts with (an adaptive one grows from there). */
    start = window,
  ) {
    this.earlyAckAt = Math.max(32, Math.min(window, start) >> 1);
    this.adaptive = window > start;
    this.endAt = limit;
  }

  /** One DATA frame's value bytes. */
  receive(payload: Uint8Array): void {
    const seq = this.next++;
    if (seq <= this.received) return; // sent again after a resume: already delivered
    if (seq > this.endAt) throw new NetchanError('EPROTO', `channel "${this.channel}": value ${seq} after the sender's end at ${this.endAt}`);
    if (this.state !== 'open') return;
    // The sender may have `window` values beyond the last ACK we wrote (an adaptive window's
    // cap: its sender grows within it), and as many bytes as MAX_INFLIGHT_BYTES allows.
    if (this.received - this.acked >= this.window) {
      throw new NetchanError('EPROTO', `channel "${this.channel}": peer sent past the window of ${this.window} unacknowledged value(s)`);
    }
    if (this.unackedBytes >= MAX_INFLIGHT_BYTES) {
      throw new NetchanError('EPROTO', `channel "${this.channel}": peer sent past ${MAX_INFLIGHT_BYTES} unacknowledged bytes`);
    }
    const value = this.session.codec.decode(payload, this.channel, this.session);
    this.received = seq;
    this.sizes.push(payload.length);
    this.unackedBytes += payload.length;
    if (this.sink.value(value, seq, this, payload.length) === false) {
      this.received = seq - 1;
      this.session.refuseInbound(this, new NetchanError('EOVERFLOW', `channel "${this.channel}": the receiver holds too many bytes of values nobody has taken yet (maxHeldBytes); the sender keeps this one`));
      return;
    }
    if (seq === this.endAt) this.reachEnd();
  }

  /** The sender ended after `total` values. */
  endAfter(total: number): void {
    if (total < this.received) throw new NetchanError('EPROTO', `channel "${this.channel}": END after ${total} values, but ${this.received} arrived`);
    this.endAt = Math.min(this.endAt, total);
    if (this.received >= this.endAt) this.reachEnd();
  }

  /** The sender failed the binding after `total` values: deliver those, then the error. */
  failAfter(total: number, error: NetchanError): void {
    this.failure = error;
    this.endAfter(Math.max(total, this.received));
  }

  /** After a resume: the next DATA frame is value `seq`. */
  replayFrom(seq: number): void {
    if (seq < 1 || seq > this.received + 1) {
      throw new NetchanError('EPROTO', `channel "${this.channel}": REPLAY from ${seq}, but only ${this.received} value(s) arrived`);
    }
    this.next = seq;
  }

  /** Marks `seq` processed; acknowledges the contiguous prefix. */
  ack(seq: number): void {
    if (this.state === 'gone' || seq <= this.ackable || seq > this.received) return;
    if (seq === this.ackable + 1) {
      this.ackable = seq;
      const early = this.early;
      if (early !== null) {
        while (early.delete(this.ackable + 1)) this.ackable++;
      }
      this.session.queueAck(this);
      if (this.state === 'ending' && this.ackable === this.received) this.session.forgetInbound(this);
    } else {
      (this.early ??= new Set()).add(seq);
    }
  }

  cancel(): void {
    this.session.cancelInbound(this);
  }

  /** Records that an ACK for `ackable` went out; returns the sequence to write, or 0 for none. */
  takeAck(): number {
    if (this.ackable <= this.acked) return 0;
    for (let n = this.ackable - this.acked; n > 0; n--) this.unackedBytes -= this.sizes.shift()!;
    this.acked = this.ackable;
    return this.acked;
  }

  private reachEnd(): void {
    if (this.state !== 'open') return;
    this.state = 'ending';
    if (this.failure) {
      this.session.cancelInbound(this);
      this.sink.error(this.failure, this);
      return;
    }
    if (this.ackable === this.received) this.session.forgetInbound(this);
    this.sink.end(this);
  }
}
