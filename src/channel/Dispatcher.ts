import { NetchanError } from '../errors/NetchanError.js';
import type { SendLane, SendLaneOwner } from './Lane.js';
import { Deque } from '../util/Deque.js';
import { Signal } from '../util/Signal.js';

/** What a full send queue does with one more value. */
export type OverflowStrategy = 'error' | 'drop-oldest' | 'drop-newest';

/** A moment in a sync: each live binding and how much had been sent on it. */
export type SyncPoint = ReadonlyArray<readonly [SendLane, number]>;

/**
 * `'open'`: takes values. `'completing'`: complete() was called, the queue is
 * still emptying. `'done'`: completed. `'errored'`: error() was called, or the
 * only receiver failed. `'closed'`: its endpoint closed.
 */
export type DispatcherState = 'open' | 'completing' | 'done' | 'errored' | 'closed';

/**
 * The sending half of a channel: a bounded queue of encoded values and the
 * bindings that take them. Work-queue semantics: each value goes to exactly one
 * binding, round-robin among those with window left. Values a lost binding had
 * not had acknowledged go back to the front of the queue.
 */
export class Dispatcher implements SendLaneOwner {
  private readonly queue = new Deque<Uint8Array>();
  private readonly bindings: SendLane[] = [];
  /** Fires when acknowledgements or losses change what drain/sync wait for. */
  readonly progress = new Signal();
  /** Fires when queue room grows (for pacing producers). */
  readonly room = new Signal();
  private stateNow: DispatcherState = 'open';
  /** Why the channel stopped taking values ('errored'/'closed'), for next(), drain and sync. */
  private reason: NetchanError | null = null;
  /** Set by error(): the ERROR every binding gets, including any that binds later. */
  private failure: { code: string; message: string } | null = null;
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

  get state(): DispatcherState {
    return this.stateNow;
  }

  /** Room left in the queue before the overflow strategy applies. */
  get capacity(): number {
    return this.stateNow === 'open' ? Math.max(0, this.queueLimit - this.queue.length) : 0;
  }

  /** Values waiting in the queue. */
  get queued(): number {
    return this.queue.length;
  }

  /** Values not yet acknowledged: queued plus in flight. */
  get pending(): number {
    let n = this.queue.length;
    for (const b of this.bindings) n += b.unacked;
    return n;
  }

  /** Why values can no longer be acknowledged (an error or a closed endpoint), or null. */
  get failed(): NetchanError | null {
    return this.reason;
  }

  /** Bindings taking values now. */
  get receivers(): number {
    return this.bindings.length;
  }

  /**
   * Hands one encoded value to a binding with window left, or queues it.
   * @throws NetchanError `'EOVERFLOW'` when the queue is full (overflow `'error'`), or the channel's failure.
   */
  push(payload: Uint8Array): void {
    if (this.stateNow !== 'open') {
      throw this.reason ?? new NetchanError('ECLOSED', `channel "${this.name}" is complete`);
    }
    if (this.queue.length === 0) {
      for (let b = this.pick(); b !== null; b = this.pick()) {
        if (b.fits(payload)) {
          b.send(payload);
          return;
        }
        b.refuse(payload);
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
  attach(b: SendLane): void {
    if (this.failure !== null) {
      b.fail(this.failure);
      return;
    }
    this.bindings.push(b);
    this.pump(b);
    if (this.stateNow === 'done' || this.stateNow === 'closed' || (this.stateNow === 'completing' && this.queue.length === 0)) b.end();
  }

  // ---- SendLaneOwner ----

  onAck(b: SendLane): void {
    this.pump(b);
    this.settle(b);
    this.notify();
  }

  onWritable(b: SendLane): void {
    this.pump(b);
  }

  /** A binding went away: its unacknowledged values go back to the front of the queue for the others. */
  onLost(b: SendLane): void {
    this.remove(b);
    const back = b.takeUnacked();
    if (back.length > 0 && this.failure === null) {
      this.queue.unshiftAll(back);
      for (const other of this.bindings) this.pump(other);
    }
    this.maybeFinish();
    this.notify();
  }

  // ---- the channel's end ----

  /** No more values: each binding ends once the queue is empty. */
  complete(): void {
    if (this.stateNow !== 'open') return;
    this.stateNow = 'completing';
    this.maybeFinish();
  }

  /** Errors every binding at once (and any that binds later); queued values are discarded. */
  error(info: { code: string; message: string }, reason: NetchanError): void {
    if (this.stateNow === 'errored') return;
    this.stateNow = 'errored';
    this.reason = reason;
    this.failure = info;
    for (const b of this.bindings.splice(0)) b.fail(info);
    this.queue.clear();
    this.notify();
  }

  /**
   * Stops taking values without telling the bindings (the only receiver ended,
   * or the endpoint closed): `next()` and drain then report `reason`; values
   * queued stay counted as pending unless `discard`.
   */
  stop(state: 'errored' | 'done' | 'closed', reason: NetchanError | null, discard = false): void {
    if (this.stateNow === 'errored' || this.stateNow === 'closed') return;
    this.stateNow = state;
    this.reason = reason;
    if (discard) this.queue.clear();
    this.notify();
  }

  /**
   * Hangup: like complete(), the bound receivers get what is queued and then END;
   * with no receiver bound, queued values are discarded (as Go's Hangup may drop them).
   */
  hangup(): void {
    if (this.bindings.length === 0) this.queue.clear();
    if (this.stateNow === 'open') this.complete();
    this.notify();
  }

  syncPoint(): SyncPoint {
    return this.bindings.filter((b) => b.unacked > 0).map((b) => [b, b.sent] as const);
  }

  notify(): void {
    if (this.progress.observed) this.progress.emit();
    if (this.ownerProgress.observed) this.ownerProgress.emit();
  }

  private pump(b: SendLane): void {
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
      if (!b.fits(next)) {
        q.unshiftAll([next]);
        b.refuse(next);
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

  /** Releases a binding that has ended and has nothing unacknowledged. */
  private settle(b: SendLane): void {
    if (!b.finished || !this.remove(b)) return;
    b.release();
  }

  private maybeFinish(): void {
    if (this.stateNow === 'completing' && this.queue.length === 0) {
      this.stateNow = 'done';
      for (const b of [...this.bindings]) b.end();
    }
  }

  /** Takes `b` out of the bindings; false if it was not there. */
  private remove(b: SendLane): boolean {
    const i = this.bindings.indexOf(b);
    if (i < 0) return false;
    this.bindings.splice(i, 1);
    return true;
  }

  private pick(): SendLane | null {
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

/** True when every binding in `point` that is still there has acknowledged up to its mark. */
export function syncReached(point: SyncPoint): boolean {
  for (const [b, mark] of point) if (b.state !== 'gone' && b.acked < mark) return false;
  return true;
}
