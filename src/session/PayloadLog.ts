import { BinPayload } from '../protocol/codec.js';
import { Deque } from '../util/Deque.js';

/** Payloads at least this big are kept as the objects they are (no copy); smaller ones are copied into the log's buffer. */
const KEEP_AS_IS = 1024;
const INITIAL = 16 * 1024;

/**
 * The values a binding has written and not yet had acknowledged, oldest
 * first: what a resume writes again and what a lost binding gives back.
 *
 * Small payloads are copied into one growing buffer rather than kept as
 * objects: a window of tens of thousands of values in flight (an adaptive
 * window over a long round trip) is then one buffer for the garbage collector,
 * not tens of thousands of objects it copies and promotes on every
 * scavenge. Large payloads and {@link BinPayload}s (the caller's own bytes)
 * are kept as they are.
 */
export class PayloadLog {
  /** Each entry's size; `-1 - size` for an entry kept as an object (in `objects`). */
  private readonly sizes = new Deque<number>();
  private readonly objects = new Deque<Uint8Array>();
  private buf = new Uint8Array(0);
  /** The copied bytes in flight are `buf[head, tail)`. */
  private head = 0;
  private tail = 0;

  /** Entries in the log. */
  get length(): number {
    return this.sizes.length;
  }

  push(payload: Uint8Array): void {
    const n = payload.length;
    if (n >= KEEP_AS_IS || payload instanceof BinPayload) {
      this.objects.push(payload);
      this.sizes.push(-1 - n);
      return;
    }
    if (this.tail + n > this.buf.length) this.makeRoom(n);
    this.buf.set(payload, this.tail);
    this.tail += n;
    this.sizes.push(n);
  }

  /** Drops the `count` oldest entries; returns their bytes. */
  drop(count: number): number {
    let bytes = 0;
    for (; count > 0; count--) {
      const s = this.sizes.shift()!;
      if (s < 0) {
        this.objects.shift();
        bytes += -1 - s;
      } else {
        this.head += s;
        bytes += s;
      }
    }
    if (this.head === this.tail) this.head = this.tail = 0;
    return bytes;
  }

  /** Calls `f` with each entry, oldest first. A copied entry is a view, valid only during the call. */
  forEach(f: (payload: Uint8Array) => void): void {
    let at = this.head;
    let o = 0;
    for (let i = 0; i < this.sizes.length; i++) {
      const s = this.sizes.at(i)!;
      if (s < 0) f(this.objects.at(o++)!);
      else {
        f(this.buf.subarray(at, at + s));
        at += s;
      }
    }
  }

  /** Removes and returns every entry, oldest first, each an array of its own. */
  takeAll(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.forEach((p) => out.push(p instanceof BinPayload || p.length >= KEEP_AS_IS ? p : p.slice()));
    this.sizes.clear();
    this.objects.clear();
    this.buf = new Uint8Array(0);
    this.head = this.tail = 0;
    return out;
  }

  /** Room for `n` more bytes at the tail: slide what is in flight to the front, or grow. */
  private makeRoom(n: number): void {
    const live = this.tail - this.head;
    let size = this.buf.length || INITIAL;
    while (size < 2 * (live + n)) size *= 2;
    if (size === this.buf.length) {
      this.buf.copyWithin(0, this.head, this.tail);
    } else {
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(this.head, this.tail));
      this.buf = next;
    }
    this.head = 0;
    this.tail = live;
  }
}
