import { NetchanError } from '../errors/NetchanError.js';
import { DATA_HEADER_MAX } from '../protocol/codec.js';
import { Deque } from './Deque.js';
import type { Outbound } from './Outbound.js';
import { Signal } from './Signal.js';

/** What a full send queue does with one more value. */
export type OverflowStrategy = 'error' | 'drop-oldest' | 'drop-newest';

/** A moment in a sync: each live binding and how much had been sent on it. */
export type SyncPoint = ReadonlyArray<readonly [Outbound, number]>;

/**
 * The sending half of a channel: a bounded queue of encoded values and the
 * bindings that take them. Work-queue semantics: each value goes to exactly one
 * binding, round-robin among those with window left. Values a lost binding had
 * not had acknowledged go back to the front of the queue.
 */
export class Dispatcher {
  readonly queue = new Deque<Uint8Array>();
  readonly bindings: Outbound[] = [];
  /** Fires when acknowledgements or losses change what drain/sync wait for. */
  readonly progress = new Signal();
  /** Fires when queue room grows (for pacing producers). */
  readonly room = new Signal();
  state: 'open' | 'completing' | 'done' | 'errored' = 'open';
  /** Values dropped by 'drop-oldest'/'drop-newest'. */
  dropped = 0;
  private rr = 0;

  constructor(
    readonly name: string,
    readonly queueLimit: number,
    readonly overflow: OverflowStrategy,
    /** The owner's signal (Exporter or Importer), told of progress too. */
    private readonly ownerProgress: Signal,
  ) {}

  /** Room left in the queue before the overflow strategy applies. */
  get capacity(): number {
    return Math.max(0, this.queueLimit - this.queue.length);
  }

  /** Values not yet acknowledged: queued plus in flight. */
  get pending(): number {
    let n = this.queue.length;
    for (const b of this.bindings) n += b.unacked;
    return n;
  }

  /** Hands one encoded value to a binding with window left, or queues it. */
  push(payload: Uint8Array): void {
    if (this.queue.length === 0) {
      for (let b = this.pick(); b !== null; b = this.pick()) {
        if (fits(b, payload)) {
          b.send(payload);
          return;
        }
        this.refuse(b, payload);
      }
    }
    if (this.queue.length >= this.queueLimit) {
      switch (this.overflow) {
        case 'drop-newest':
          this.dropped++;
          return;
        case 'drop-oldest':
          this.queue.shift();
          this.dropped++;
          break;
        default:
          throw new NetchanError(
            'EOVERFLOW',
            `channel "${this.name}": send queue full (${this.queueLimit} values waiting for a receiver or window); pace the producer with capacity$/feed() or raise queueLimit`,
          );
      }
    }
    this.queue.push(payload);
  }

  /** A binding arrived: give it queued values (or the channel's error, if it failed). */
  attach(b: Outbound): void {
    if (this.state === 'errored') {
      b.closed = true;
      this.failWith?.(b);
      return;
    }
    this.bindings.push(b);
    this.pump(b);
    if (this.state === 'done' || (this.state === 'completing' && this.queue.length === 0)) b.end();
  }

  onAck(b: Outbound): void {
    this.pump(b);
    this.settle(b);
    this.notify();
  }

  /** Forgets a binding that has ended and has nothing unacknowledged (here and on its connection). */
  settle(b: Outbound): void {
    if (!b.finished || !this.remove(b)) return;
    b.session.release(b.id);
    this.notify();
  }

  /**
   * A binding went away (cancelled or its connection dropped): its unacknowledged
   * values go back to the front of the queue for the others.
   */
  lose(b: Outbound): void {
    b.alive = false;
    b.closed = true;
    this.remove(b);
    const back = b.inflight.drainAll();
    if (back.length > 0) {
      this.queue.unshiftAll(back);
      for (const other of this.bindings) this.pump(other);
    }
    this.notify();
  }

  /** No more values: each binding ends once the queue is empty. */
  complete(): void {
    if (this.state !== 'open') return;
    this.state = 'completing';
    this.maybeFinish();
  }

  /** Set by error(): errors a binding that arrives later. */
  private failWith: ((b: Outbound) => void) | null = null;

  /** Errors every binding at once (and any that binds later); queued values are discarded. */
  error(send: (b: Outbound) => void): void {
    if (this.state === 'errored') return;
    this.state = 'errored';
    this.failWith = send;
    for (const b of this.bindings) {
      if (b.alive) send(b);
      b.closed = true;
    }
    this.bindings.length = 0;
    this.queue.clear();
    this.notify();
  }

  /**
   * Hangup: like complete(), the bound receivers get what is queued and then END;
   * with no receiver bound, queued values are discarded (as Go's Hangup may drop them).
   */
  hangup(): void {
    if (this.bindings.length === 0) this.queue.clear();
    if (this.state === 'open') this.complete();
    this.notify();
  }

  syncPoint(): SyncPoint {
    return this.bindings.filter((b) => b.unacked > 0).map((b) => [b, b.sent] as const);
  }

  private pump(b: Outbound): void {
    const q = this.queue;
    if (q.length === 0) return;
    // Silly-window avoidance: with more queued than the window has room for and
    // only a sliver of room, wait for more acknowledgements (some are certainly
    // coming) so each write carries a real batch. A short queue (the end of a
    // burst) is never held back.
    const credit = b.credit;
    if (credit > 0 && credit * 4 < b.window && q.length > credit && b.unacked > 0) return;
    let moved = false;
    while (q.length > 0 && b.credit > 0) {
      const next = q.shift()!;
      if (!fits(b, next)) {
        q.unshiftAll([next]);
        this.refuse(b, next);
        break;
      }
      b.send(next);
      moved = true;
    }
    if (moved) {
      if (this.room.observed) this.room.emit();
      this.maybeFinish();
    }
  }

  /**
   * The value is over this receiver's announced frame limit: its binding fails
   * with 'ETOOBIG' (the connection and the value survive; the value stays queued
   * for a receiver that can take it).
   */
  private refuse(b: Outbound, payload: Uint8Array): void {
    const limit = b.session.frameLimit;
    b.session.sendError(b.id, {
      code: 'ETOOBIG',
      message: `channel "${this.name}": a value of ${payload.length + DATA_HEADER_MAX} bytes (with header) > this importer's maxFrameBytes (${limit})`,
    });
    // No more values on it; it stays registered until the importer's final ACK
    // and CANCEL arrive, so only values it never got go back to the queue.
    b.closed = true;
  }

  private maybeFinish(): void {
    if (this.state === 'completing' && this.queue.length === 0) {
      this.state = 'done';
      for (const b of [...this.bindings]) b.end();
    }
  }

  /** Takes `b` out of the bindings; false if it was not there. */
  private remove(b: Outbound): boolean {
    const i = this.bindings.indexOf(b);
    if (i < 0) return false;
    this.bindings.splice(i, 1);
    return true;
  }

  notify(): void {
    if (this.progress.observed) this.progress.emit();
    if (this.ownerProgress.observed) this.ownerProgress.emit();
  }

  private pick(): Outbound | null {
    const bs = this.bindings;
    const n = bs.length;
    for (let i = 0; i < n; i++) {
      const j = (this.rr + i) % n;
      const b = bs[j]!;
      if (b.credit > 0) {
        this.rr = (j + 1) % n;
        return b;
      }
    }
    return null;
  }
}

function fits(b: Outbound, payload: Uint8Array): boolean {
  return payload.length + DATA_HEADER_MAX <= b.session.frameLimit;
}

/** True when every binding in `point` that is still alive has acknowledged up to its mark. */
export function syncReached(point: SyncPoint): boolean {
  for (const [b, mark] of point) if (b.alive && b.acked < mark) return false;
  return true;
}
