import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Subject, type Observable } from 'rxjs';

/**
 * Which way bytes flow through a {@link FaultProxy}: `'upstream'` is client →
 * server (importer → exporter), `'downstream'` is server → client.
 */
export type FaultDirection = 'upstream' | 'downstream';

/** A direction, or `'both'`. */
export type FaultDirections = FaultDirection | 'both';

/**
 * The faults ("toxics", after toxiproxy) applied to one direction of every
 * connection through a {@link FaultProxy}. Change them at any time with
 * `proxy.set()`: they apply at once to live connections and to new ones.
 */
export interface FaultToxics {
  /**
   * Every chunk arrives `latency` ms late, plus a uniform random `jitter` in
   * `[-jitter, +jitter]` ms. Order is kept (TCP never reorders), so jitter can
   * only stretch gaps. Defaults to none.
   */
  latency?: { latency: number; jitter?: number };
  /**
   * Most bytes per second, enforced by a token bucket holding at most `burst`
   * bytes (defaults to 10 ms worth, at least 1 KiB), so a bulk transfer takes
   * size / rate, not one sleep per chunk. Defaults to unlimited.
   */
  bandwidth?: { rate: number; burst?: number };
  /**
   * Cuts each chunk into pieces of `averageSize` ± `sizeVariation` bytes, `delay`
   * ms apart (0: all at once, as separate writes). Defaults to none.
   */
  slicer?: { averageSize: number; sizeVariation?: number; delay?: number };
  /**
   * After `bytes` bytes have passed this way on a connection, the connection is
   * closed gracefully (FIN both ways), as toxiproxy's `limit_data`.
   */
  limitData?: { bytes: number };
  /**
   * Resets the connection (RST both ways, queued bytes lost), as toxiproxy's
   * `reset_peer`: after `bytes` bytes have passed this way, and/or `timeout` ms
   * after the connection opened or this toxic was set, whichever is later.
   * Neither set: every connection is reset as soon as it carries a byte this way.
   */
  resetPeer?: { bytes?: number; timeout?: number };
  /**
   * Silently discards everything this way, queued bytes included, and does not
   * pass on a close from the sender either: a pulled cable. Only a keepalive
   * can notice. Defaults to `false`.
   */
  blackhole?: boolean;
  /**
   * Holds everything this way (nothing lost) until set back to `false`; the
   * sender is then throttled by TCP once the proxy's buffer is full. A stall.
   * Defaults to `false`.
   */
  paused?: boolean;
}

/** A patch for {@link FaultProxy.set}: `null` removes a toxic. */
export type FaultToxicsPatch = { [K in keyof FaultToxics]?: FaultToxics[K] | null };

/** Byte counters of one direction of one connection. */
export interface FaultDirectionStats {
  /** Bytes read from the sender. */
  readonly received: number;
  /** Bytes written to the receiver. */
  readonly forwarded: number;
  /** Bytes thrown away (black hole, reset, close). */
  readonly discarded: number;
  /** Bytes held in the proxy now (latency, bandwidth, pause). */
  readonly queued: number;
  /** The sender has closed its side (FIN or reset), whether or not it was passed on. */
  readonly ended: boolean;
}

/** Why a connection through the proxy ended. */
export type FaultCloseReason = 'client' | 'server' | 'reset' | 'limit' | 'cut' | 'proxy' | 'upstream-failed';

/** Something that happened in a {@link FaultProxy}, for tests to wait on. */
export type FaultProxyEvent =
  | { readonly type: 'open'; readonly id: number; readonly remote: string }
  | { readonly type: 'cut'; readonly id: number; readonly direction: FaultDirection; readonly at: number; readonly how: 'reset' | 'end' }
  | { readonly type: 'reset'; readonly id: number; readonly direction?: FaultDirection }
  | { readonly type: 'limit'; readonly id: number; readonly direction: FaultDirection; readonly at: number }
  | {
      readonly type: 'close';
      readonly id: number;
      readonly reason: FaultCloseReason;
      readonly upstream: FaultDirectionStats;
      readonly downstream: FaultDirectionStats;
    };

/** One live connection through the proxy. */
export interface FaultProxyConnection {
  /** 1, 2, 3, … in order of arrival. */
  readonly id: number;
  /** The client's address, `host:port`. */
  readonly remote: string;
  readonly upstream: FaultDirectionStats;
  readonly downstream: FaultDirectionStats;
  /** Resets both sides now (RST), dropping what is queued. */
  reset(): void;
  /** Closes both sides gracefully (FIN) after what is queued has gone. */
  end(): void;
}

/** Options of {@link FaultProxy.start}. */
export interface FaultProxyConfig {
  /** Toxics for both directions from the start. Defaults to none. */
  toxics?: FaultToxics;
  /** Toxics for client → server only (applied after `toxics`). */
  upstream?: FaultToxics;
  /** Toxics for server → client only (applied after `toxics`). */
  downstream?: FaultToxics;
  /** Seed of the random source for jitter and slice sizes, for repeatable runs. Defaults to a fixed seed. */
  seed?: number;
  /** Bytes one direction may hold before the proxy stops reading from its sender. Defaults to 1 MiB. */
  highWaterMark?: number;
}

interface Chunk {
  bytes: Uint8Array;
  /** performance.now() at which it may leave. */
  due: number;
}

interface CutRequest {
  direction: FaultDirection;
  at: number;
  how: 'reset' | 'end';
  connection: number | undefined;
  resolve: (hit: boolean) => void;
}

/** Timers shorter than this are finished with setImmediate, so latency is accurate to well under 1 ms. */
const SPIN_MS = 1;

/**
 * A TCP proxy on `127.0.0.1` (port 0) in front of an upstream `host:port`,
 * with faults you can switch on and off while it runs: latency with jitter,
 * bandwidth, slicing, resets, a black hole, a stall, a byte limit, and a
 * one-shot cut at a chosen byte. It works on bytes, so it serves TCP, TLS and
 * WebSocket alike. After toxiproxy's toxics, in-process, for tests and
 * benchmarks on machines without netem.
 *
 * ```
 * importer ──► proxy ──upstream──► exporter
 *          ◄──       ◄─downstream─
 * ```
 *
 * ## Example
 * ```ts
 * import { Exporter, Importer } from 'rx-netchan';
 * import { FaultProxy } from 'rx-netchan/node';
 *
 * const exporter = new Exporter();
 * const { url } = await exporter.listen('tcp://127.0.0.1:0');
 * const proxy = await FaultProxy.start(url, { toxics: { latency: { latency: 20 } } });
 * const importer = Importer.connect(proxy.url('tcp')); // 40 ms round trips
 * proxy.cutAt('downstream', 10_000);                    // reset at the 10,000th byte to the importer
 * // …
 * await importer.close(); await exporter.close(); await proxy.close();
 * ```
 * @see FaultToxics
 */
export class FaultProxy {
  /** Every connection's events: open, cut, reset, limit, close. Completes on close(). */
  readonly events$: Observable<FaultProxyEvent>;
  private readonly events = new Subject<FaultProxyEvent>();
  private readonly links = new Map<number, Link>();
  private readonly toxicsOf: Record<FaultDirection, FaultToxics> = { upstream: {}, downstream: {} };
  /** When each direction's resetPeer toxic was set (its timeout counts from then for older connections). */
  private readonly resetSetAt: Record<FaultDirection, number> = { upstream: 0, downstream: 0 };
  private readonly cuts: CutRequest[] = [];
  private nextId = 1;
  private closing: Promise<void> | null = null;
  private readonly host: LinkHost;

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
    config: FaultProxyConfig,
  ) {
    this.events$ = this.events.asObservable();
    const cuts = this.cuts;
    this.host = {
      highWaterMark: config.highWaterMark ?? 1024 * 1024,
      random: mulberry32(config.seed ?? 0x5eed),
      toxic: (d) => this.toxicsOf[d],
      resetSetAt: (d) => this.resetSetAt[d],
      emit: (e) => this.events.next(e),
      cutFor: (id, d) => cuts.find((c) => c.direction === d && (c.connection === undefined || c.connection === id)),
      takeCut: (cut) => {
        const i = cuts.indexOf(cut);
        if (i >= 0) cuts.splice(i, 1);
      },
      forget: (link) => this.links.delete(link.id),
    };
    const both = config.toxics ?? {};
    this.set('upstream', { ...both, ...config.upstream });
    this.set('downstream', { ...both, ...config.downstream });
    server.on('connection', (socket) => this.accept(socket));
  }

  /**
   * Starts a proxy on `127.0.0.1` port 0 in front of `upstream`, given as
   * `host:port`, a URL (`tcp://…`, `ws://…`: only its host and port are used)
   * or `{ host, port }`. Resolves once it listens.
   */
  static async start(upstream: string | { host: string; port: number }, config: FaultProxyConfig = {}): Promise<FaultProxy> {
    const target = parseTarget(upstream);
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FaultProxy(server, target, config);
  }

  /** The port the proxy listens on (127.0.0.1). */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The proxy's address as a URL: `url('tcp')` → `tcp://127.0.0.1:<port>`, `url('ws', '/netchan')` → `ws://127.0.0.1:<port>/netchan`. */
  url(scheme = 'tcp', path = ''): string {
    return `${scheme}://127.0.0.1:${this.port}${path}`;
  }

  /** The toxics now in force one way (a copy). */
  toxics(direction: FaultDirection): FaultToxics {
    return { ...this.toxicsOf[direction] };
  }

  /**
   * Changes the toxics of one direction or both; `null` removes one, an absent
   * key leaves it as it is. Live connections follow at once.
   */
  set(direction: FaultDirections, patch: FaultToxicsPatch): this {
    const next = dirs(direction).map((d) => {
      const t: Record<string, unknown> = { ...this.toxicsOf[d] };
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined) continue;
        if (v === null || v === false) delete t[k];
        else t[k] = typeof v === 'object' ? { ...v } : v;
      }
      validate(t as FaultToxics); // before anything changes
      return [d, t as FaultToxics] as const;
    });
    for (const [d, t] of next) {
      this.toxicsOf[d] = t;
      if (patch.resetPeer !== undefined) this.resetSetAt[d] = performance.now();
      for (const link of this.links.values()) link.retoxic(d);
    }
    return this;
  }

  /** Removes every toxic (both directions unless one is named); what was paused flows again. */
  clear(direction: FaultDirections = 'both'): this {
    for (const d of dirs(direction)) {
      this.toxicsOf[d] = {};
      for (const link of this.links.values()) link.retoxic(d);
    }
    return this;
  }

  /** Stall: hold everything (nothing lost) until {@link resume}. */
  pause(direction: FaultDirections = 'both'): this {
    return this.set(direction, { paused: true });
  }

  /** Ends a {@link pause}: what was held flows on. */
  resume(direction: FaultDirections = 'both'): this {
    return this.set(direction, { paused: null });
  }

  /** A pulled cable: discard everything silently (`on = false` restores the link). */
  blackhole(direction: FaultDirections = 'both', on = true): this {
    return this.set(direction, { blackhole: on ? true : null });
  }

  /**
   * Resets (RST) every live connection now, both sides, dropping what is queued.
   * A side that still has unread bytes may see the end of the stream instead of
   * `ECONNRESET` (Linux reports a reset that overtakes unread data that way).
   */
  resetAll(): void {
    for (const link of [...this.links.values()]) link.reset('reset');
  }

  /**
   * One shot: the first connection (or connection `connection`) to pass byte
   * `at` going `direction` (counted from the connection's first byte) gets
   * exactly `at` bytes through, then is cut: reset both ways (`how: 'reset'`,
   * the default) or closed gracefully (`'end'`). A connection already past
   * `at` is cut at its next byte. Resolves `true` once it happened, `false` if
   * the proxy closed first.
   */
  cutAt(direction: FaultDirection, at: number, options: { how?: 'reset' | 'end'; connection?: number } = {}): Promise<boolean> {
    if (!Number.isInteger(at) || at < 0) throw new RangeError(`cutAt: byte ${at} is not a non-negative integer`);
    return new Promise<boolean>((resolve) => {
      const cut: CutRequest = { direction, at, how: options.how ?? 'reset', connection: options.connection, resolve };
      if (this.closing) return resolve(false);
      this.cuts.push(cut);
      for (const link of this.links.values()) link.retoxic(direction);
    });
  }

  /** The live connections, oldest first. */
  get connections(): readonly FaultProxyConnection[] {
    return [...this.links.values()].map((l) => l.view);
  }

  /** Stops listening and destroys every connection; releases every timer. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      await Promise.all([...this.links.values()].map((l) => l.destroy()));
      await closed;
      for (const c of this.cuts.splice(0)) c.resolve(false);
      this.events.complete();
    })();
    return this.closing;
  }

  private accept(client: Socket): void {
    if (this.closing) {
      client.destroy();
      return;
    }
    const server = connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true, noDelay: true });
    const link = new Link(this.host, this.nextId++, client, server);
    this.links.set(link.id, link);
    this.events.next({ type: 'open', id: link.id, remote: link.view.remote });
  }
}

/** What a connection needs from its proxy. */
interface LinkHost {
  readonly highWaterMark: number;
  random(): number;
  toxic(d: FaultDirection): FaultToxics;
  resetSetAt(d: FaultDirection): number;
  emit(e: FaultProxyEvent): void;
  /** The pending cut for this connection and direction, if any. */
  cutFor(id: number, d: FaultDirection): CutRequest | undefined;
  takeCut(cut: CutRequest): void;
  forget(link: Link): void;
}

/** One proxied connection: two sockets and a {@link Pipe} each way. */
class Link {
  readonly view: FaultProxyConnection;
  private readonly pipes: Record<FaultDirection, Pipe>;
  private done = false;
  private reason: FaultCloseReason | null = null;
  private readonly closed: Promise<void>;

  constructor(
    readonly proxy: LinkHost,
    readonly id: number,
    readonly client: Socket,
    readonly server: Socket,
  ) {
    const remote = `${client.remoteAddress ?? '?'}:${client.remotePort ?? '?'}`;
    this.pipes = {
      upstream: new Pipe(this, 'upstream', client, server),
      downstream: new Pipe(this, 'downstream', server, client),
    };
    const up = this.pipes.upstream;
    const down = this.pipes.downstream;
    this.view = {
      id,
      remote,
      get upstream() {
        return up.stats();
      },
      get downstream() {
        return down.stats();
      },
      reset: () => this.reset('reset'),
      end: () => this.end('proxy'),
    };
    let open = 2;
    this.closed = new Promise<void>((resolve) => {
      const onClose = (): void => {
        if (--open === 0) {
          this.finish();
          resolve();
        }
      };
      client.once('close', onClose);
      server.once('close', onClose);
    });
    let connected = false;
    server.once('connect', () => (connected = true));
    server.once('error', () => {
      // The upstream refused or was unreachable: the client sees a reset.
      if (!connected) this.reason ??= 'upstream-failed';
    });
    up.start();
    down.start();
  }

  retoxic(d: FaultDirection): void {
    this.pipes[d].retoxic();
  }

  /** RST both sides now. */
  reset(reason: FaultCloseReason, direction?: FaultDirection): void {
    if (this.done) return;
    this.reason ??= reason;
    if (reason === 'reset') this.proxy.emit(direction ? { type: 'reset', id: this.id, direction } : { type: 'reset', id: this.id });
    this.pipes.upstream.abort();
    this.pipes.downstream.abort();
    resetSocket(this.client);
    resetSocket(this.server);
  }

  /** FIN both sides once what is queued has gone. */
  end(reason: FaultCloseReason): void {
    if (this.done) return;
    this.reason ??= reason;
    this.pipes.upstream.finish();
    this.pipes.downstream.finish();
  }

  /** A socket closed: pass it on to the other side, unless that way is a black hole. */
  peerGone(from: FaultDirection, hadError: boolean): void {
    const pipe = this.pipes[from];
    if (this.proxy.toxic(from).blackhole) return;
    this.reason ??= from === 'upstream' ? 'client' : 'server';
    if (hadError) {
      // A reset on one side is a reset on the other; a FIN follows what is still queued.
      pipe.abort();
      resetSocket(pipe.dst);
    } else {
      pipe.finish();
    }
  }

  destroy(): Promise<void> {
    this.reason ??= 'proxy';
    this.pipes.upstream.abort();
    this.pipes.downstream.abort();
    this.client.destroy();
    this.server.destroy();
    return this.closed;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.pipes.upstream.dispose();
    this.pipes.downstream.dispose();
    this.proxy.forget(this);
    this.proxy.emit({
      type: 'close',
      id: this.id,
      reason: this.reason ?? 'client',
      upstream: this.pipes.upstream.stats(),
      downstream: this.pipes.downstream.stats(),
    });
  }
}

/**
 * One direction of a {@link Link}: reads `src`, applies the toxics, writes `dst`.
 * A queue ordered by release time and at most one timer.
 */
class Pipe {
  private readonly queue: Chunk[] = [];
  private head = 0;
  private queuedBytes = 0;
  private received = 0;
  private forwarded = 0;
  private discarded = 0;
  private lastDue = 0;
  /** performance.now() when the bandwidth-limited link is free again. */
  private linkFreeAt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  private resetTimer: ReturnType<typeof setTimeout> | null = null;
  /** Waiting for dst's 'drain'. */
  private blocked = false;
  /** We paused src (buffer full or stalled). */
  private srcPaused = false;
  /** src ended (FIN): pass it on once the queue is empty. */
  private srcEnded = false;
  /** src ended or closed. */
  private srcGone = false;
  private ending = false;
  private dead = false;
  private readonly openedAt = performance.now();

  constructor(
    private readonly link: Link,
    readonly direction: FaultDirection,
    readonly src: Socket,
    readonly dst: Socket,
  ) {}

  start(): void {
    const src = this.src;
    src.on('data', this.onData);
    src.on('end', this.onEnd);
    src.on('error', noop); // reported through 'close' (hadError)
    src.once('close', this.onSrcClose);
    this.dst.on('drain', this.onDrain);
    this.retoxic();
  }

  stats(): FaultDirectionStats {
    return { received: this.received, forwarded: this.forwarded, discarded: this.discarded, queued: this.queuedBytes, ended: this.srcGone };
  }

  private get toxics(): FaultToxics {
    return this.link.proxy.toxic(this.direction);
  }

  /** The toxics changed: re-arm what depends on them. */
  retoxic(): void {
    if (this.dead) return;
    const t = this.toxics;
    if (t.blackhole) this.dropQueued();
    this.armResetTimer();
    this.pump();
  }

  private readonly onData = (buf: Buffer): void => {
    if (this.dead) return;
    const n = buf.length;
    this.received += n;
    const t = this.toxics;
    if (t.blackhole) {
      this.discarded += n;
      return;
    }
    const now = performance.now();
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, n);
    const base = t.latency ? t.latency.latency + jitter(t.latency.jitter ?? 0, this.link.proxy) : 0;
    const pieces = t.slicer ? this.slice(bytes, t.slicer) : [bytes];
    const gap = t.slicer?.delay ?? 0;
    for (let i = 0; i < pieces.length; i++) {
      // Never before an earlier chunk: a TCP stream keeps its order.
      const due = Math.max(now + base + i * gap, this.lastDue);
      this.lastDue = due;
      this.queue.push({ bytes: pieces[i]!, due });
    }
    this.queuedBytes += n;
    if (this.queuedBytes >= this.link.proxy.highWaterMark && !this.srcPaused) {
      this.srcPaused = true;
      this.src.pause();
    }
    this.pump();
  };

  private readonly onEnd = (): void => {
    this.srcEnded = true;
    this.srcGone = true;
    this.link.peerGone(this.direction, false);
  };

  private readonly onSrcClose = (hadError: boolean): void => {
    this.srcGone = true;
    if (!this.srcEnded || hadError) this.link.peerGone(this.direction, hadError);
  };

  private readonly onDrain = (): void => {
    this.blocked = false;
    this.pump();
  };

  /** Sends what is due, within the bandwidth; arms one timer for the rest. */
  private readonly pump = (): void => {
    this.clearTimers();
    if (this.dead || this.blocked) return;
    const t = this.toxics;
    if (t.paused) return;
    const now = performance.now();
    while (this.head < this.queue.length) {
      const c = this.queue[this.head]!;
      if (c.due > now) return this.wake(c.due - now);
      let bytes = c.bytes;
      if (t.bandwidth) {
        // Token bucket kept as the time the link is next free: a late timer is caught up
        // on the next pass instead of lost, so the average rate holds on a busy machine.
        const { rate } = t.bandwidth;
        const burst = t.bandwidth.burst ?? Math.max(1024, rate / 100);
        this.linkFreeAt = Math.max(this.linkFreeAt, now - (burst * 1000) / rate); // an idle link banks one burst
        if (this.linkFreeAt > now) return this.wake(this.linkFreeAt - now);
        const take = Math.min(bytes.length, Math.floor(burst));
        this.linkFreeAt += (take * 1000) / rate;
        if (take < bytes.length) {
          c.bytes = bytes.subarray(take);
          bytes = bytes.subarray(0, take);
        } else {
          this.head++;
        }
      } else {
        this.head++;
      }
      this.queuedBytes -= bytes.length;
      if (!this.forward(bytes)) return;
      if (this.blocked) return;
    }
    this.queue.length = 0;
    this.head = 0;
    if (this.srcPaused && !t.paused) {
      this.srcPaused = false;
      this.src.resume();
    }
    if (this.ending || this.srcEnded) this.endDst();
  };

  /**
   * Writes `bytes` to dst, applying the byte-count faults (cut, limit, reset).
   * Returns false once the connection is being torn down.
   */
  private forward(bytes: Uint8Array): boolean {
    const t = this.toxics;
    const before = this.forwarded;
    let stopAt = Infinity;
    let action: 'cut' | 'limit' | 'reset' | null = null;
    // Each fault fires once its byte count is reached (at once, not at the next chunk).
    const end = before + bytes.length;
    const cut = this.link.proxy.cutFor(this.link.id, this.direction);
    if (cut && end >= cut.at) [stopAt, action] = [cut.at, 'cut'];
    const limit = t.limitData?.bytes;
    if (limit !== undefined && end >= limit && limit < stopAt) [stopAt, action] = [limit, 'limit'];
    const rb = t.resetPeer?.bytes ?? (t.resetPeer && t.resetPeer.timeout === undefined ? 0 : undefined);
    if (rb !== undefined && end >= rb && rb < stopAt) [stopAt, action] = [rb, 'reset'];
    if (action === null) {
      this.write(bytes);
      return true;
    }
    const keep = Math.max(0, stopAt - before);
    if (keep > 0) this.write(bytes.subarray(0, keep));
    this.discarded += bytes.length - keep;
    const id = this.link.id;
    const d = this.direction;
    if (action === 'cut') {
      this.link.proxy.takeCut(cut!);
      this.link.proxy.emit({ type: 'cut', id, direction: d, at: stopAt, how: cut!.how });
      cut!.resolve(true);
      if (cut!.how === 'end') this.link.end('cut');
      else this.afterWrite(() => this.link.reset('cut'));
    } else if (action === 'limit') {
      this.link.proxy.emit({ type: 'limit', id, direction: d, at: stopAt });
      this.dropQueued();
      this.link.end('limit');
    } else {
      this.afterWrite(() => this.link.reset('reset', d));
    }
    return false;
  }

  private write(bytes: Uint8Array): void {
    if (bytes.length === 0 || this.dst.destroyed) return;
    this.forwarded += bytes.length;
    if (!this.dst.write(bytes)) this.blocked = true;
  }

  /** Runs `f` once what was written has reached the kernel (so a cut delivers exactly its bytes). */
  private afterWrite(f: () => void): void {
    this.dead = true;
    this.dropQueued();
    if (this.dst.destroyed || this.dst.writableLength === 0) f();
    else this.dst.write(new Uint8Array(0), () => f());
  }

  private wake(ms: number): void {
    if (ms < SPIN_MS) {
      this.immediate = setImmediate(this.pump);
    } else {
      this.timer = setTimeout(this.pump, Math.floor(ms));
      this.timer.unref();
    }
  }

  private armResetTimer(): void {
    if (this.resetTimer !== null) clearTimeout(this.resetTimer);
    this.resetTimer = null;
    const timeout = this.toxics.resetPeer?.timeout;
    if (timeout === undefined) return;
    const from = Math.max(this.openedAt, this.link.proxy.resetSetAt(this.direction));
    const ms = Math.max(0, from + timeout - performance.now());
    this.resetTimer = setTimeout(() => this.link.reset('reset', this.direction), ms);
    this.resetTimer.unref();
  }

  /** Ends dst once everything queued has been written (graceful close). */
  finish(): void {
    this.ending = true;
    if (this.dead) return;
    if (this.head >= this.queue.length) this.endDst();
    else this.pump();
  }

  private endDst(): void {
    if (!this.dst.destroyed && !this.dst.writableEnded) this.dst.end();
  }

  /** Stops forwarding and drops what is queued (reset, destroy). */
  abort(): void {
    this.dead = true;
    this.dropQueued();
    this.clearTimers();
  }

  dispose(): void {
    this.abort();
    if (this.resetTimer !== null) clearTimeout(this.resetTimer);
    this.resetTimer = null;
    this.src.off('data', this.onData);
    this.src.off('end', this.onEnd);
    this.dst.off('drain', this.onDrain);
  }

  private dropQueued(): void {
    this.discarded += this.queuedBytes;
    this.queuedBytes = 0;
    this.queue.length = 0;
    this.head = 0;
    if (this.srcPaused) {
      this.srcPaused = false;
      if (!this.src.destroyed) this.src.resume();
    }
  }

  private clearTimers(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
  }

  private slice(bytes: Uint8Array, s: NonNullable<FaultToxics['slicer']>): Uint8Array[] {
    const out: Uint8Array[] = [];
    const avg = Math.max(1, Math.floor(s.averageSize));
    const vary = Math.min(avg - 1, Math.max(0, Math.floor(s.sizeVariation ?? 0)));
    for (let p = 0; p < bytes.length; ) {
      const size = avg + Math.round((this.link.proxy.random() * 2 - 1) * vary);
      out.push(bytes.subarray(p, p + size));
      p += size;
    }
    return out;
  }
}

function resetSocket(s: Socket): void {
  if (s.destroyed) return;
  // resetAndDestroy needs a connected handle; a socket still connecting is simply destroyed.
  if (s.connecting || s.readyState === 'closed') s.destroy();
  else s.resetAndDestroy();
}

function jitter(j: number, proxy: LinkHost): number {
  return j > 0 ? (proxy.random() * 2 - 1) * j : 0;
}

function dirs(d: FaultDirections): FaultDirection[] {
  return d === 'both' ? ['upstream', 'downstream'] : [d];
}

function noop(): void {}

function validate(t: FaultToxics): void {
  const bad = (what: string, v: unknown) => {
    throw new RangeError(`FaultProxy: ${what} must be a finite number >= 0, got ${String(v)}`);
  };
  const check = (what: string, v: number | undefined, min = 0) => {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < min)) bad(what, v);
  };
  check('latency.latency', t.latency?.latency);
  check('latency.jitter', t.latency?.jitter);
  if (t.bandwidth) {
    check('bandwidth.rate', t.bandwidth.rate);
    if (!(t.bandwidth.rate > 0)) throw new RangeError('FaultProxy: bandwidth.rate must be > 0 (use paused to stop a direction)');
    check('bandwidth.burst', t.bandwidth.burst, 1);
  }
  if (t.slicer) {
    check('slicer.averageSize', t.slicer.averageSize, 1);
    check('slicer.sizeVariation', t.slicer.sizeVariation);
    check('slicer.delay', t.slicer.delay);
  }
  check('limitData.bytes', t.limitData?.bytes);
  check('resetPeer.bytes', t.resetPeer?.bytes);
  check('resetPeer.timeout', t.resetPeer?.timeout);
}

function parseTarget(upstream: string | { host: string; port: number }): { host: string; port: number } {
  if (typeof upstream !== 'string') return upstream;
  const url = new URL(upstream.includes('://') ? upstream : `tcp://${upstream}`);
  const port = Number(url.port);
  if (url.port === '' || !Number.isInteger(port)) throw new RangeError(`FaultProxy: upstream ${upstream} has no port`);
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

/** A small seeded PRNG (mulberry32): repeatable jitter and slice sizes. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
