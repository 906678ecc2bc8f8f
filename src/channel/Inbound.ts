import { NetchanError } from '../errors/NetchanError.js';
import type { Session } from './Session.js';

/** Where an {@link Inbound} delivers. */
export interface InboundSink {
  /** A value arrived; `seq` is its 1-based sequence number on the binding. */
  value(value: unknown, seq: number, inbound: Inbound): void;
  /** The sender ended the binding (END, or `count` values received). */
  end(inbound: Inbound): void;
  /** The binding failed: remote error, protocol error or lost connection. */
  error(error: NetchanError, inbound: Inbound): void;
}

/**
 * The receiving side of one binding. Counts what arrived, enforces the window
 * the sender must respect, and acknowledges cumulatively: once per flush, with
 * the highest sequence whose value (and every one before it) was delivered or,
 * in manual mode, processed.
 */
export class Inbound {
  received = 0;
  /** Highest sequence acknowledged so far (cumulative). */
  acked = 0;
  /** Highest sequence ready to acknowledge; written at the next flush. */
  ackable = 0;
  /** Out-of-order manual acks above `ackable`. */
  private early: Set<number> | null = null;
  ended = false;
  /** Acknowledge mid-tick once this many are ready (half the window, at least 32). */
  readonly earlyAckAt: number;
  /** Unbound: later acks are not sent. */
  dead = false;
  ackQueued = false;

  constructor(
    readonly session: Session,
    readonly id: number,
    readonly channel: string,
    readonly window: number,
    /** Values to receive before completing (`count`), or Infinity. */
    readonly limit: number,
    public sink: InboundSink,
  ) {
    this.earlyAckAt = Math.max(32, window >> 1);
  }

  /** One DATA frame's value bytes. */
  receive(payload: Uint8Array): void {
    if (this.ended) return;
    // The sender may have `window` values beyond the last ACK we wrote, no more.
    if (this.received - this.acked >= this.window) {
      throw new NetchanError(
        'EPROTO',
        `channel "${this.channel}": peer sent past the window of ${this.window} unacknowledged value(s)`,
      );
    }
    const value = this.session.codec.decode(payload, this.channel);
    const seq = ++this.received;
    const last = seq === this.limit;
    if (last) this.ended = true;
    // The sink acknowledges (ack(seq)) once the value is delivered or processed.
    this.sink.value(value, seq, this);
    if (last) this.sink.end(this);
  }

  /** Marks `seq` processed; acknowledges the contiguous prefix. */
  ack(seq: number): void {
    if (this.dead || seq <= this.ackable || seq > this.received) return;
    if (seq === this.ackable + 1) {
      this.ackable = seq;
      const early = this.early;
      if (early !== null) {
        while (early.delete(this.ackable + 1)) this.ackable++;
      }
      this.session.queueAck(this);
    } else {
      (this.early ??= new Set()).add(seq);
    }
  }
}
