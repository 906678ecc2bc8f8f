import { Deque } from './Deque.js';
import type { Dispatcher } from './Dispatcher.js';
import type { Session } from './Session.js';

/** Most bytes of values one binding keeps in flight, whatever its window: 8 MiB. */
export const MAX_INFLIGHT_BYTES = 8 * 1024 * 1024;

/**
 * The sending side of one binding (one import subscription): its window, the
 * values in flight, and the cumulative sequence numbers. Values in flight are
 * kept until acknowledged so they can go back to the queue if the binding is lost.
 */
export class Outbound {
  /** Values written on this binding. */
  sent = 0;
  /** Highest cumulative acknowledgement received. */
  acked = 0;
  /** No more values will be written (END sent, count reached, cancelled or lost). */
  closed = false;
  /** Still attached to a live connection; sync ignores bindings that are gone. */
  alive = true;
  readonly inflight = new Deque<Uint8Array>();

  constructor(
    readonly session: Session,
    readonly id: number,
    readonly window: number,
    /** Most values this binding may ever carry (`count`), or Infinity. */
    readonly limit: number,
    readonly dispatcher: Dispatcher,
  ) {}

  /** Bytes of the values in flight. */
  inflightBytes = 0;

  get credit(): number {
    if (this.closed) return 0;
    // Besides the receiver's window (a count), keep the bytes in flight bounded
    // so a large window of large values cannot pile up in memory.
    if (this.inflightBytes >= MAX_INFLIGHT_BYTES && this.sent > this.acked) return 0;
    return Math.min(this.window - (this.sent - this.acked), this.limit - this.sent);
  }

  get unacked(): number {
    return this.sent - this.acked;
  }

  send(payload: Uint8Array): void {
    this.session.writer.data(this.id, payload);
    this.inflight.push(payload);
    this.inflightBytes += payload.length;
    this.sent++;
    if (this.sent === this.limit) this.closed = true; // count reached: the receiver completes by itself
  }

  /** Applies a cumulative acknowledgement; returns false if it is impossible. */
  ack(seq: number): boolean {
    if (seq <= this.acked) return seq >= 0;
    if (seq > this.sent) return false;
    for (let n = seq - this.acked; n > 0; n--) this.inflightBytes -= this.inflight.shift()!.length;
    this.acked = seq;
    this.dispatcher.onAck(this);
    return true;
  }

  private ended = false;

  /** Sends END: the receiver completes after the values already written. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.closed = true;
    // A count-limited binding that got its count needs no END: the receiver completes by itself.
    if (this.sent !== this.limit && this.alive) this.session.sendEnd(this.id);
    // Everything already acknowledged: no ACK will come to release it later.
    this.dispatcher.settle(this);
  }

  /** True once closed and every value written has been acknowledged. */
  get finished(): boolean {
    return this.closed && this.sent === this.acked;
  }
}
