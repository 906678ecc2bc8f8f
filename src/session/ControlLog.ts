import { NetchanError } from '../errors/NetchanError.js';
import { FrameType } from '../protocol/frame.js';
import { MAX_UNRECEIPTED, RECEIPT_EVERY } from '../protocol/limits.js';
import { Deque } from '../util/Deque.js';

interface Entry {
  readonly n: number;
  readonly frame: readonly unknown[];
}

/**
 * The reliable frames of one session (OPEN, END, CANCEL, binding ERROR), both
 * ways. Outgoing ones are numbered and kept until the peer's RECEIPT covers
 * them, so a resumed session can send again exactly those the peer never got;
 * incoming ones are counted, and the count is what this side's RECEIPT (and
 * its resume HELLO) reports. Values are not kept here: a binding's in-flight
 * values are its own replay cache.
 */
export class ControlLog {
  /** Reliable frames sent so far. */
  sent = 0;
  /** Reliable frames received so far. */
  received = 0;
  /** `received` as of the last RECEIPT we wrote. */
  private receipted = 0;
  private readonly unreceipted = new Deque<Entry>();

  /** Numbers `frame` and keeps it until receipted. */
  record(frame: readonly unknown[]): void {
    if (this.unreceipted.length >= MAX_UNRECEIPTED) {
      throw new NetchanError('EPROTO', `the peer has not receipted ${this.unreceipted.length} reliable frames (limit ${MAX_UNRECEIPTED})`);
    }
    this.unreceipted.push({ n: ++this.sent, frame });
  }

  /** The peer has everything up to `n`. @throws NetchanError `'EPROTO'` for a count never sent. */
  receipt(n: number): void {
    if (n > this.sent) throw new NetchanError('EPROTO', `RECEIPT ${n} for ${this.sent} reliable frame(s) sent`);
    while (this.unreceipted.length > 0 && this.unreceipted.peek()!.n <= n) this.unreceipted.shift();
  }

  /** Frames the peer has not receipted, oldest first. */
  pending(): Array<readonly unknown[]> {
    return this.unreceipted.toArray().map((e) => e.frame);
  }

  /** True while a CANCEL or ERROR for binding `id` waits for the peer's receipt. */
  hasPendingEnd(id: number): boolean {
    for (const e of this.unreceipted.toArray()) {
      const t = e.frame[0];
      if ((t === FrameType.Cancel || t === FrameType.Error) && e.frame[1] === id) return true;
    }
    return false;
  }

  /** Counts one incoming reliable frame; true when a RECEIPT is due. */
  count(): boolean {
    this.received++;
    return this.received - this.receipted >= RECEIPT_EVERY;
  }

  /** The count to put in a RECEIPT now (and remember it went out). */
  takeReceipt(): number {
    this.receipted = this.received;
    return this.received;
  }

  /** Forgets everything (a new session). */
  reset(): void {
    this.sent = 0;
    this.received = 0;
    this.receipted = 0;
    this.unreceipted.clear();
  }
}
