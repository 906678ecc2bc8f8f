import { Subject, asyncScheduler, type Observable, type SchedulerLike, type Subscription } from 'rxjs';
import type { NetchanError } from '../errors/NetchanError.js';
import { frameTypeName, splitFrames } from '../protocol/framing.js';
import type { Connection, ConnectionHandler } from '../transport/Connection.js';

/** One frame crossing a {@link virtualPipe}, as `trace` and `dropOn` see it. */
export interface VirtualFrame {
  /** Scheduler time (virtual ms) at which the frame arrives. */
  readonly time: number;
  /** The end that wrote it: `'a'` (the first connection of the pair) or `'b'`. */
  readonly from: 'a' | 'b';
  /** 1-based number of the frame, counting both directions in order of arrival. */
  readonly index: number;
  /** `'HELLO'`, `'OPEN'`, `'DATA'`, `'ACK'`, `'END'`, `'CANCEL'`, `'ERROR'`, `'PING'`, `'PONG'`, `'BYE'`, `'RECEIPT'`, `'REPLAY'`, or `'?'`. */
  readonly type: string;
  /** The frame's bytes, length prefix included. */
  readonly bytes: Uint8Array;
}

/** Options of {@link virtualPipe}. */
export interface VirtualPipeConfig {
  /**
   * Virtual milliseconds between a write and its arrival at the other end.
   * A number applies both ways; `[aToB, bToA]` sets each direction. Defaults to `1`.
   */
  latency?: number | readonly [aToB: number, bToA: number];
  /**
   * Virtual milliseconds the link spends sending each frame (serialization time).
   * Frames written in one tick then arrive one after another, `frameDelay` apart,
   * and later writes queue behind them. Defaults to `0`.
   */
  frameDelay?: number;
  /**
   * Bandwidth in bytes per virtual millisecond: a frame also occupies the link for
   * `ceil(bytes / bytesPerMs)` ms. Defaults to `Infinity` (no limit).
   */
  bytesPerMs?: number;
  /** The connection drops (both ends close with an error, frames in flight are lost) at this scheduler time. */
  dropAt?: number;
  /**
   * The connection drops just as the first frame for which this returns `true`
   * would arrive; that frame and everything after it are lost. For example
   * `(f) => f.type === 'ACK'` cuts the link before the first acknowledgement lands.
   */
  dropOn?: (frame: VirtualFrame) => boolean;
  /** Called with every frame as it arrives (for debugging a marble test: `trace: console.log`). */
  trace?: (frame: VirtualFrame) => void;
  /**
   * Reported as {@link Connection.keepalive}: `true` makes the Exporter and Importer
   * run their keepalive timers on it, as on a real network. Defaults to `false`, so
   * an idle test has no periodic timer keeping `TestScheduler.flush()` busy.
   */
  keepalive?: boolean;
  /**
   * Bytes one end may have in the link (written, not yet received by the other
   * end) before its `write()` returns `false`; `onDrain` follows once they are
   * down to half of it. With `bytesPerMs` or {@link VirtualConnection.pause} this
   * models a peer that reads slowly or not at all. Defaults to `Infinity`
   * (always writable).
   */
  highWaterMark?: number;
  /** Scheduler that delivers frames. Defaults to `asyncScheduler` (virtual inside `TestScheduler.run()`). */
  scheduler?: SchedulerLike;
}

/** One end of a {@link virtualPipe}: a {@link Connection} plus controls for tests. */
export interface VirtualConnection extends Connection {
  /**
   * Drops the connection now, as a reset would: frames still in flight either way
   * are lost, and both ends close with an error (`'ECLOSED'` on the Importer/Exporter).
   */
  drop(reason?: string): void;
  /** {@link Connection.destroy}: a reset by this end; it closes with `error`, the peer with a generic error. */
  destroy(error?: Error): void;
  /**
   * From now on the link silently loses every frame either way without closing,
   * like a pulled cable: only a keepalive (`keepalive: true`) notices.
   */
  stall(): void;
  /**
   * This end stops reading, as a process that no longer consumes its socket:
   * frames for it wait in the link and count in the other end's `bufferedBytes`
   * (so its `write()` returns `false` past `highWaterMark`) until {@link resume}.
   */
  pause(): void;
  /** This end reads again: the frames that waited arrive now, in order. */
  resume(): void;
  /** Bytes this end wrote that the other end has not received yet. */
  readonly bufferedBytes: number;
  /** Frames delivered so far, both directions. */
  readonly framesDelivered: number;
  /**
   * Hot: every frame as it arrives at this end, in the frame it arrives. Map it to
   * `f.type` to draw the protocol's frames as a marble diagram. Completes when the connection ends.
   */
  readonly received$: Observable<VirtualFrame>;
}

/**
 * A connected pair whose frames arrive `latency` virtual milliseconds after they
 * were written, scheduled on RxJS's `asyncScheduler`. Inside `TestScheduler.run()`
 * the whole protocol (handshake, values, acknowledgements, windows, timeouts,
 * keepalives) then runs in virtual time, so a marble diagram shows the network's
 * real timing and the test runs in microseconds.
 *
 * `close()` is graceful: the peer receives everything written before it, and both
 * ends close `latency` after the call (frames the peer wrote meanwhile are
 * discarded, as the closing side has stopped reading). `drop()`, `dropAt` and
 * `dropOn` end both ends at once with an error, losing what is in flight.
 * Keepalive is off (`keepalive: false`) unless asked for.
 *
 * ```
 * latency 2
 * a writes:    -x---y-----
 * b receives:  ---x---y---
 * ```
 *
 * ## Example
 * ```ts
 * testScheduler.run(({ expectObservable }) => {
 *   const [a, b] = virtualPipe({ latency: 2 });
 *   exporter.serveConnection(a);
 *   const importer = new Importer(b);
 *   // …
 * });
 * ```
 * @param config Latency (each way), per-frame delay, bandwidth, a scheduled drop, tracing.
 * @returns Both ends; give one to `exporter.serveConnection()` and the other to `new Importer()`.
 * @see virtualNetwork
 */
export function virtualPipe(config: VirtualPipeConfig = {}): [VirtualConnection, VirtualConnection] {
  const link = new Link(config);
  const scheduler = link.scheduler;
  if (config.dropAt !== undefined) {
    const delay = Math.max(0, config.dropAt - scheduler.now());
    link.track(scheduler.schedule(() => link.drop(`dropped at ${config.dropAt}`), delay));
  }
  return [link.a, link.b];
}

interface Direction {
  latency: number;
  /** Scheduler time at which the link is free to start sending the next frame. */
  freeAt: number;
  /** Arrival time of the last frame scheduled this way (the close follows it). */
  lastArrival: number;
  /** Bytes written this way and not yet received. */
  inFlight: number;
}

class Link {
  readonly scheduler: SchedulerLike;
  readonly a: End;
  readonly b: End;
  private readonly pending = new Set<Subscription>();
  private readonly frameDelay: number;
  private readonly bytesPerMs: number;
  /** 'up', 'stalled' (silently losing frames), 'down' (closed or dropped). */
  state: 'up' | 'stalled' | 'down' = 'up';
  delivered = 0;

  constructor(private readonly config: VirtualPipeConfig) {
    this.scheduler = config.scheduler ?? asyncScheduler;
    const lat = config.latency ?? 1;
    const [ab, ba] = typeof lat === 'number' ? [lat, lat] : lat;
    this.frameDelay = Math.max(0, config.frameDelay ?? 0);
    this.bytesPerMs = config.bytesPerMs ?? Infinity;
    const keepalive = config.keepalive === true;
    // `remote` names the peer: end a talks to virtual://b and b to virtual://a.
    const hwm = config.highWaterMark ?? Infinity;
    this.a = new End(this, 'a', 'virtual://b', keepalive, direction(ab, this.scheduler.now()), hwm);
    this.b = new End(this, 'b', 'virtual://a', keepalive, direction(ba, this.scheduler.now()), hwm);
    this.a.peer = this.b;
    this.b.peer = this.a;
  }

  track(sub: Subscription): void {
    if (!sub.closed) this.pending.add(sub);
  }

  /** Schedules `chunk`, written by `from`, for arrival at the other end. */
  send(from: End, chunk: Uint8Array): void {
    const now = this.scheduler.now();
    const dir = from.dir;
    const frames = splitFrames(chunk);
    dir.inFlight += chunk.length;
    // Consecutive frames that arrive at the same time are delivered as one chunk.
    let batch: Uint8Array[] = [];
    let batchAt = -1;
    const flush = () => {
      if (batch.length === 0) return;
      const group = batch;
      this.schedule(batchAt - now, () => this.deliver(from, group));
      batch = [];
    };
    for (const frame of frames) {
      const transmit = this.frameDelay + (Number.isFinite(this.bytesPerMs) ? Math.ceil(frame.length / this.bytesPerMs) : 0);
      const start = Math.max(now, dir.freeAt);
      dir.freeAt = start + transmit;
      const at = dir.freeAt + dir.latency;
      dir.lastArrival = Math.max(dir.lastArrival, at);
      if (at !== batchAt) flush();
      batchAt = at;
      batch.push(frame);
    }
    flush();
  }

  /** The graceful end: after every frame already written, both ends close. */
  close(from: End): void {
    const now = this.scheduler.now();
    const at = Math.max(now + from.dir.latency, from.dir.lastArrival);
    this.schedule(at - now, () => this.end());
  }

  /** Closes `end` alone (the link is stalled, so the peer cannot hear of it). */
  closeOneEnd(end: End, error?: Error): void {
    this.schedule(0, () => {
      end.finish(error);
      if (end.peer.isEnded) this.end();
    });
  }

  /** Drops the link; `by`, when set, is the end that reset it and closes with `byError` (if given). */
  drop(reason: string, by?: End, byError?: Error): void {
    if (this.state === 'down') return;
    this.end(new Error(`virtual connection ${reason}`), by, byError);
  }

  stall(): void {
    if (this.state === 'up') this.state = 'stalled';
  }

  private schedule(delay: number, work: () => void): void {
    let sub: Subscription | undefined;
    let done = false;
    sub = this.scheduler.schedule(() => {
      done = true;
      if (sub) this.pending.delete(sub);
      work();
    }, Math.max(0, delay));
    if (!done) this.pending.add(sub);
  }

  deliver(from: End, frames: Uint8Array[]): void {
    if (this.state !== 'up') return;
    const to = from.peer;
    if (to.paused) {
      to.held.push(...frames); // still the writer's: counted in its bufferedBytes
      return;
    }
    let i = 0;
    let bytes = 0;
    for (; i < frames.length; i++) {
      const f = frames[i]!;
      const frame: VirtualFrame = { time: this.scheduler.now(), from: from.name, index: this.delivered + 1, type: frameTypeName(f), bytes: f };
      if (this.config.dropOn?.(frame)) break;
      this.delivered++;
      bytes += f.length;
      this.config.trace?.(frame);
      to.frames.next(frame);
    }
    from.dir.inFlight -= bytes;
    if (i > 0) to.receive(i === 1 ? frames[0]! : concat(frames.slice(0, i)));
    if (i < frames.length) this.drop(`dropped at frame ${this.delivered + 1} (${frameTypeName(frames[i]!)} from ${from.name})`);
    else from.checkDrain();
  }

  /** Delivers what waited for a paused end, on the scheduler (as any arrival). */
  release(to: End): void {
    const held = to.held;
    to.held = [];
    if (held.length > 0) this.schedule(0, () => this.deliver(to.peer, held));
  }

  /** Ends both ends: cleanly, or with `error` (a drop). Frames still in flight are lost. */
  private end(error?: Error, by?: End, byError?: Error): void {
    if (this.state === 'down') return;
    this.state = 'down';
    for (const sub of this.pending) sub.unsubscribe();
    this.pending.clear();
    this.a.finish(by === this.a ? (byError ?? error) : error);
    this.b.finish(by === this.b ? (byError ?? error) : error);
  }
}

class End implements VirtualConnection {
  peer!: End;
  readonly framing = 'message' as const;
  private handler: ConnectionHandler | null = null;
  private early: Uint8Array[] = [];
  private closing = false;
  private ended = false;
  private endError: Error | undefined;
  /** A write returned false; onDrain is owed. */
  private backedUp = false;
  /** Not reading: arriving frames wait in `held`. */
  paused = false;
  held: Uint8Array[] = [];
  readonly frames = new Subject<VirtualFrame>();
  readonly received$: Observable<VirtualFrame> = this.frames.asObservable();

  constructor(
    private readonly link: Link,
    readonly name: 'a' | 'b',
    readonly remote: string,
    readonly keepalive: boolean,
    readonly dir: Direction,
    private readonly highWaterMark: number,
  ) {}

  get isEnded(): boolean {
    return this.ended;
  }

  get framesDelivered(): number {
    return this.link.delivered;
  }

  start(handler: ConnectionHandler): void {
    this.handler = handler;
    const early = this.early;
    this.early = [];
    for (const chunk of early) handler.onData(chunk);
    if (this.ended) handler.onClose(this.endError);
  }

  get bufferedBytes(): number {
    return this.dir.inFlight;
  }

  write(chunk: Uint8Array): boolean {
    if (this.closing || this.link.state !== 'up') return true;
    this.link.send(this, chunk);
    if (this.dir.inFlight < this.highWaterMark) return true;
    this.backedUp = true;
    return false;
  }

  /** Calls onDrain once what this end has in the link is down to half the high-water mark. */
  checkDrain(): void {
    if (!this.backedUp || this.dir.inFlight > this.highWaterMark / 2) return;
    this.backedUp = false;
    if (!this.ended) this.handler?.onDrain?.();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.link.release(this);
  }

  /**
   * A reset, as on a socket: both ends close at once, with `error` (or a generic
   * one) here. On a stalled link the reset is lost like everything else: only
   * this end closes, and the peer finds out by its own keepalive.
   */
  destroy(error?: Error): void {
    if (this.link.state === 'stalled') {
      if (this.closing) return;
      this.closing = true;
      this.link.closeOneEnd(this, error);
      return;
    }
    this.closing = true;
    this.link.drop(`destroyed by ${this.name}${error ? `: ${error.message}` : ''}`, this, error);
  }

  close(_reason?: NetchanError): void {
    if (this.closing) return;
    this.closing = true;
    if (this.link.state === 'down') return;
    // A stalled link carries nothing, not even the close: only this end closes; the peer finds out by keepalive.
    if (this.link.state === 'stalled') this.link.closeOneEnd(this);
    else this.link.close(this);
  }

  drop(reason = 'dropped'): void {
    this.link.drop(reason);
  }

  stall(): void {
    this.link.stall();
  }

  receive(chunk: Uint8Array): void {
    if (this.ended) return;
    if (this.handler) this.handler.onData(chunk);
    else this.early.push(chunk);
  }

  finish(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.closing = true;
    this.endError = error;
    this.handler?.onClose(error);
    this.frames.complete();
  }
}

function direction(latency: number, now: number): Direction {
  return { latency: Math.max(0, latency), freeAt: now, lastArrival: now, inFlight: 0 };
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
