// The fault proxy over real loopback sockets: each toxic, its accuracy, and
// that close() leaves nothing behind. Behind it sit a plain TCP server (echo,
// sink or source) or a real Exporter.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { firstValueFrom, filter, toArray, take } from 'rxjs';
import { Exporter, Importer, exportChannel, importChannel, type NetchanError } from '../../src/index.js';
import { FaultProxy, type FaultProxyEvent } from '../../src/node.js';
import { range, record, within } from '../helpers/async.js';
import { handleBaseline } from '../helpers/leaks.js';
import { settledHandles } from '../helpers/transports.js';

/** A TCP server on 127.0.0.1:0; `onSocket` gets each accepted socket. */
async function serve(onSocket: (s: Socket) => void): Promise<{ port: number; sockets: Socket[]; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A client socket that records what it reads and how it ended. */
class Client {
  readonly chunks: Buffer[] = [];
  ended = false;
  error: NodeJS.ErrnoException | undefined;
  closed = false;
  private waiters: Array<() => void> = [];
  constructor(readonly socket: Socket) {
    socket.on('data', (c: Buffer) => {
      this.chunks.push(c);
      this.poke();
    });
    socket.on('end', () => {
      this.ended = true;
      this.poke();
    });
    socket.on('error', (e) => {
      this.error = e;
      this.poke();
    });
    socket.on('close', () => {
      this.closed = true;
      this.poke();
    });
  }
  static open(port: number, allowHalfOpen = false): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, allowHalfOpen, noDelay: true }, () => {
        s.off('error', reject);
        resolve(new Client(s));
      });
      s.once('error', reject);
    });
  }
  get bytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }
  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }
  until(pred: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return within(
      new Promise<void>((resolve) => {
        const w = () => {
          if (pred()) {
            this.waiters = this.waiters.filter((x) => x !== w);
            resolve();
          }
        };
        this.waiters.push(w);
      }),
      ms,
      what,
    );
  }
  private poke(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Resolves once `pred` holds, checking every few ms (for the proxy's counters, which raise no event). */
async function eventually(pred: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/**
 * A reset reached this client: ECONNRESET, or (Linux, when the RST overtakes
 * bytes not yet read) the end of the stream right after them.
 */
const wasCut = (c: Client) => c.closed && (c.error?.code === 'ECONNRESET' || (c.ended && c.error === undefined));

const blob = (n: number) => Buffer.from(Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff));

describe('FaultProxy', () => {
  let base: string[];
  let proxy: FaultProxy | undefined;
  const closers: Array<() => Promise<void>> = [];

  beforeEach(() => {
    base = handleBaseline();
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
    for (const c of closers.splice(0).reverse()) await c();
    expect(await settledHandles(base)).toEqual([]);
  });

  async function echo() {
    const srv = await serve((s) => s.pipe(s));
    closers.push(srv.close);
    return srv;
  }

  it('passes bytes both ways unchanged, counts them per connection, and reports open and close', async () => {
    const srv = await echo();
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`);
    const events: FaultProxyEvent[] = [];
    proxy.events$.subscribe((e) => events.push(e));
    const c = await Client.open(proxy.port);
    const payload = blob(100_000);
    c.socket.write(payload);
    await c.until(() => c.bytes === payload.length);
    expect(c.data.equals(payload)).toBe(true);
    const [conn] = proxy.connections;
    expect(conn!.id).toBe(1);
    expect(conn!.upstream).toEqual({ received: 100_000, forwarded: 100_000, discarded: 0, queued: 0, ended: false });
    expect(conn!.downstream.forwarded).toBe(100_000);
    c.socket.end();
    await c.until(() => c.closed);
    await eventually(() => events.some((e) => e.type === 'close'), 5_000, 'the close event');
    expect(events[0]).toMatchObject({ type: 'open', id: 1 });
    expect(events.at(-1)).toMatchObject({ type: 'close', id: 1, reason: 'client', upstream: { forwarded: 100_000 } });
    expect(proxy.connections).toEqual([]);
  });

  // Timing on a shared machine: load can only make things slower, never faster. So every
  // measurement must respect the lower bound, and the best of up to three attempts the upper one.

  it('latency: a ping-pong round trip through 20 ms each way takes 40 ms (± 5), never less', async () => {
    const srv = await echo();
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`, { toxics: { latency: { latency: 20 } } });
    const c = await Client.open(proxy.port);
    const medians: number[] = [];
    for (let attempt = 0; attempt < 3 && !(medians.length > 0 && Math.min(...medians) <= 45); attempt++) {
      const rtts: number[] = [];
      for (let i = 0; i < 10; i++) {
        const want = c.bytes + 1;
        const t0 = performance.now();
        c.socket.write('x');
        await c.until(() => c.bytes >= want);
        rtts.push(performance.now() - t0);
      }
      rtts.sort((a, b) => a - b);
      expect(rtts[0]!).toBeGreaterThanOrEqual(40); // never early
      medians.push(rtts[5]!);
    }
    expect(Math.min(...medians)).toBeLessThanOrEqual(45);
    c.socket.destroy();
  });

  it('latency with jitter stays within [latency - jitter, latency + jitter] and keeps the byte order', async () => {
    const srv = await echo();
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`, { upstream: { latency: { latency: 15, jitter: 10 } } });
    const c = await Client.open(proxy.port);
    const rtts: number[] = [];
    for (let i = 0; i < 12; i++) {
      const want = c.bytes + 1;
      const t0 = performance.now();
      c.socket.write('y');
      await c.until(() => c.bytes >= want);
      rtts.push(performance.now() - t0);
    }
    rtts.sort((a, b) => a - b);
    expect(rtts[0]!).toBeGreaterThanOrEqual(5); // never earlier than latency - jitter
    expect(rtts[6]!).toBeLessThanOrEqual(25 + 5); // the median within latency + jitter (+ a loaded machine's timer slack)
    expect(rtts[11]! - rtts[0]!).toBeGreaterThan(2); // it does vary
    // Many small writes in a burst: jitter never reorders them.
    const burst = range(200).map((i) => `<${i}>`).join('');
    const before = c.bytes;
    for (let i = 0; i < 200; i++) c.socket.write(`<${i}>`);
    await c.until(() => c.bytes === before + burst.length);
    expect(c.data.subarray(before).toString()).toBe(burst);
    c.socket.destroy();
  });

  it('bandwidth: 256 KiB at 512 KiB/s takes 0.5 s (± 15 %), in one direction only', async () => {
    const size = 256 * 1024;
    const srv = await serve((s) => s.end(blob(size)));
    closers.push(srv.close);
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`, { downstream: { bandwidth: { rate: 512 * 1024 } } });
    const times: number[] = [];
    for (let attempt = 0; attempt < 3 && !(times.length > 0 && Math.min(...times) <= 0.5 * 1.15); attempt++) {
      const t0 = performance.now();
      const c = await Client.open(proxy.port);
      await c.until(() => c.ended, 5_000, 'the whole blob');
      const secs = (performance.now() - t0) / 1000;
      expect(c.data.equals(blob(size))).toBe(true);
      expect(secs).toBeGreaterThanOrEqual(0.5 * 0.85); // never faster than the rate (one burst of 10 ms allowed)
      times.push(secs);
      c.socket.destroy();
    }
    expect(Math.min(...times)).toBeLessThanOrEqual(0.5 * 1.15);
    // Upstream is not limited: an echo of the same size is fast.
    const e = await echo();
    await proxy.close();
    proxy = await FaultProxy.start(`127.0.0.1:${e.port}`, { downstream: { bandwidth: { rate: 512 * 1024 } }, upstream: {} });
    const c2 = await Client.open(proxy.port, true);
    const t1 = performance.now();
    c2.socket.write(blob(64 * 1024));
    await eventually(() => proxy!.connections[0]?.upstream.forwarded === 64 * 1024, 5_000, 'upstream bytes');
    expect(performance.now() - t1).toBeLessThan(100);
    c2.socket.destroy();
  });

  it('slicer: a chunk arrives in small pieces, `delay` apart', async () => {
    const srv = await serve((s) => s.end(blob(200)));
    closers.push(srv.close);
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`, { downstream: { slicer: { averageSize: 20, sizeVariation: 5, delay: 3 } } });
    const t0 = performance.now();
    const c = await Client.open(proxy.port);
    await c.until(() => c.ended);
    expect(c.data.equals(blob(200))).toBe(true);
    expect(c.chunks.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...c.chunks.map((x) => x.length))).toBeLessThan(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(7 * 3); // at least 8 pieces, 3 ms apart
  });

  it('resetAll(): both sides see a reset at once', async () => {
    const srv = await echo();
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`);
    const resets = record(proxy.events$.pipe(filter((e) => e.type === 'reset')));
    const c = await Client.open(proxy.port);
    c.socket.write('hi');
    await c.until(() => c.bytes === 2);
    const server = srv.sockets[0]!;
    let serverError: NodeJS.ErrnoException | undefined;
    server.on('error', (e) => (serverError = e));
    proxy.resetAll();
    await c.until(() => c.closed);
    expect(c.error?.code).toBe('ECONNRESET');
    await eventually(() => server.destroyed, 2_000, 'the server side to close');
    expect(serverError?.code).toBe('ECONNRESET');
    expect(resets.values).toEqual([{ type: 'reset', id: 1 }]);
  });

  it('resetPeer { bytes }: every connection is reset after that many bytes one way; { timeout } after that long', async () => {
    const srv = await serve((s) => s.write(blob(10_000)));
    closers.push(srv.close);
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`, { downstream: { resetPeer: { bytes: 3_000 } } });
    for (let i = 0; i < 2; i++) {
      const c = await Client.open(proxy.port);
      await c.until(() => c.closed);
      expect(wasCut(c)).toBe(true);
      expect(c.bytes).toBeLessThanOrEqual(3_000);
      expect(c.data.equals(blob(10_000).subarray(0, c.bytes))).toBe(true);
    }
    proxy.set('downstream', { resetPeer: { timeout: 50 } });
    const t0 = performance.now();
    const c = await Client.open(proxy.port);
    await c.until(() => c.closed);
    expect(c.error?.code).toBe('ECONNRESET');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
  });

  it('limitData: exactly that many bytes, then a graceful close', async () => {
    const srv = await serve((s) => s.write(blob(10_000)));
    closers.push(srv.close);
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`, { downstream: { limitData: { bytes: 4_321 } } });
    const limits = record(proxy.events$.pipe(filter((e) => e.type === 'limit')));
    const c = await Client.open(proxy.port);
    await c.until(() => c.closed);
    expect(c.ended).toBe(true);
    expect(c.error).toBeUndefined();
    expect(c.data.equals(blob(10_000).subarray(0, 4_321))).toBe(true);
    expect(limits.values).toEqual([{ type: 'limit', id: 1, direction: 'downstream', at: 4_321 }]);
  });

  it('cutAt: one shot; the first connection gets exactly N bytes then a reset, the next is untouched', async () => {
    const srv = await serve((s) => s.write(blob(50_000)));
    closers.push(srv.close);
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`);
    const hit = proxy.cutAt('downstream', 12_345);
    const c = await Client.open(proxy.port);
    await c.until(() => c.closed);
    expect(await hit).toBe(true);
    expect(wasCut(c)).toBe(true);
    expect(c.bytes).toBe(12_345);
    expect(c.data.equals(blob(50_000).subarray(0, 12_345))).toBe(true);
    const c2 = await Client.open(proxy.port);
    await c2.until(() => c2.bytes === 50_000);
    expect(c2.error).toBeUndefined();
    c2.socket.destroy();
    // how: 'end' closes gracefully instead; a cut still pending when the proxy closes resolves false.
    const graceful = proxy.cutAt('downstream', 100, { how: 'end' });
    const c3 = await Client.open(proxy.port);
    await c3.until(() => c3.ended);
    expect(await graceful).toBe(true);
    expect(c3.bytes).toBe(100);
    const never = proxy.cutAt('upstream', 1);
    await proxy.close();
    expect(await never).toBe(false);
  });

  it('blackhole: bytes vanish and a close is not passed on (a pulled cable); switching it off restores the link', async () => {
    const srv = await echo();
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`);
    const c = await Client.open(proxy.port, true);
    c.socket.write('a');
    await c.until(() => c.bytes === 1);
    proxy.blackhole('upstream');
    c.socket.write('lost');
    await eventually(() => proxy!.connections[0]!.upstream.discarded === 4, 2_000, 'the bytes to be discarded');
    expect(proxy.connections[0]!.upstream.forwarded).toBe(1); // so the server cannot have seen them
    proxy.blackhole('upstream', false);
    c.socket.write('b');
    await c.until(() => c.bytes === 2);
    expect(c.data.toString()).toBe('ab');
    // Both ways black: the client's FIN never reaches the server.
    proxy.blackhole('both');
    c.socket.end();
    await eventually(() => proxy!.connections[0]!.upstream.ended, 2_000, 'the proxy to see the FIN');
    // The proxy got the FIN and kept it: the server's side stays open.
    const server = srv.sockets[0]!;
    expect(server.readableEnded).toBe(false);
    expect(proxy.connections.length).toBe(1);
  });

  it('pause holds every byte (none lost) until resume', async () => {
    const srv = await echo();
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`);
    const c = await Client.open(proxy.port);
    proxy.pause('upstream');
    c.socket.write(blob(5_000));
    await eventually(() => proxy!.connections[0]?.upstream.received === 5_000, 2_000, 'the proxy to read the bytes');
    expect(proxy.connections[0]!.upstream).toEqual({ received: 5_000, forwarded: 0, discarded: 0, queued: 5_000, ended: false });
    proxy.resume();
    await c.until(() => c.bytes === 5_000);
    expect(c.data.equals(blob(5_000))).toBe(true);
    c.socket.destroy();
  });

  it('a stalled direction stops reading from its sender once its buffer is full (TCP backpressure)', async () => {
    const srv = await serve(() => {});
    closers.push(srv.close);
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`, { highWaterMark: 64 * 1024, upstream: { paused: true } });
    const c = await Client.open(proxy.port);
    const big = blob(4 * 1024 * 1024);
    c.socket.write(big);
    await eventually(() => (proxy!.connections[0]?.upstream.received ?? 0) >= 64 * 1024, 2_000);
    // Held at the mark (plus at most one read), the rest stays with the sender's TCP stack.
    await new Promise((r) => setTimeout(r, 20));
    expect(proxy.connections[0]!.upstream.received).toBeLessThan(1024 * 1024);
    c.socket.destroy();
  });

  it('lists live connections and closes one by id, gracefully or with a reset', async () => {
    const srv = await echo();
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`);
    const a = await Client.open(proxy.port);
    const b = await Client.open(proxy.port);
    await eventually(() => proxy!.connections.length === 2);
    expect(proxy.connections.map((x) => x.id)).toEqual([1, 2]);
    proxy.connections[0]!.reset();
    await a.until(() => a.closed);
    expect(a.error?.code).toBe('ECONNRESET');
    proxy.connections.find((x) => x.id === 2)!.end();
    await b.until(() => b.ended);
    expect(b.error).toBeUndefined();
    b.socket.destroy();
  });

  it('an upstream that refuses: the client is reset, and the close event says why', async () => {
    const srv = await serve(() => {});
    const port = srv.port;
    await srv.close();
    proxy = await FaultProxy.start(`tcp://127.0.0.1:${port}`);
    const closed = firstValueFrom(proxy.events$.pipe(filter((e) => e.type === 'close')));
    const c = await Client.open(proxy.port);
    await c.until(() => c.closed);
    expect(await closed).toMatchObject({ type: 'close', reason: 'upstream-failed' });
  });

  it('rejects nonsense toxics', async () => {
    const srv = await echo();
    proxy = await FaultProxy.start(`127.0.0.1:${srv.port}`);
    expect(() => proxy!.set('both', { latency: { latency: -1 } })).toThrow(RangeError);
    expect(() => proxy!.set('upstream', { bandwidth: { rate: 0 } })).toThrow(/rate/);
    expect(() => proxy!.cutAt('upstream', 1.5)).toThrow(RangeError);
  });
});

describe('FaultProxy between an Importer and an Exporter', () => {
  let base: string[];
  beforeEach(() => {
    base = handleBaseline();
  });

  it.each(['tcp', 'ws'] as const)('over %s: values flow with the latency; a cut at a chosen byte loses nothing', async (scheme) => {
    const exporter = new Exporter();
    const jobs = exportChannel<number>(exporter, 'jobs', 'send', { queueLimit: 10_000 });
    const { url } = await exporter.listen(scheme === 'tcp' ? 'tcp://127.0.0.1:0' : 'ws://127.0.0.1:0/netchan');
    const proxy = await FaultProxy.start(url, { toxics: { latency: { latency: 10 } } });
    const target = proxy.url(scheme, scheme === 'ws' ? '/netchan' : '');
    const first = Importer.connect(target);
    let second: Importer | undefined;
    try {
      const errors = record(first.errors$);
      const got = record(importChannel<number>(first, 'jobs', 'recv', { size: 10, ack: 'manual' }));
      const t0 = performance.now();
      jobs.next(0);
      await got.count(1);
      // HELLO and OPEN cross once (10 ms), the value once more (10 ms).
      expect(performance.now() - t0).toBeGreaterThanOrEqual(8);
      // Cut the link downstream in the middle of the next values: those the
      // importer had not acknowledged go back to the queue.
      const seen = proxy.connections[0]!.downstream.forwarded;
      const cut = proxy.cutAt('downstream', seen + 40);
      for (const v of range(99, 1)) jobs.next(v);
      expect(await cut).toBe(true);
      await got.end();
      expect((got.error as NetchanError).code).toBe('ECLOSED');
      await errors.count(1);
      second = Importer.connect(target);
      const rest = record(importChannel<number>(second, 'jobs', 'recv', { count: 100 }));
      await rest.end(10_000);
      // Nothing acknowledged before the cut: all 100 come again, in order.
      expect(rest.values).toEqual(range(100));
    } finally {
      await first.close();
      await second?.close();
      await exporter.close();
      await proxy.close();
    }
    expect(await settledHandles(base)).toEqual([]);
  });

  it('a black hole both ways is noticed only by keepalive, on both sides', async () => {
    const exporter = new Exporter({ keepalive: 100 });
    const exporterErrors = record(exporter.errors$);
    const { url } = await exporter.listen('tcp://127.0.0.1:0');
    const proxy = await FaultProxy.start(url);
    const importer = Importer.connect(proxy.url(), { keepalive: 100 });
    try {
      const errors = record(importer.errors$);
      exportChannel<number>(exporter, 'jobs', 'send').next(1);
      const got = record(importChannel<number>(importer, 'jobs', 'recv'));
      await got.count(1);
      proxy.blackhole('both');
      await errors.count(1, 3_000);
      expect(errors.values[0]!.code).toBe('ECLOSED');
      expect(errors.values[0]!.message).toMatch(/keepalive 100 ms/);
      await exporterErrors.count(1, 3_000);
      expect(exporterErrors.values[0]!.message).toMatch(/keepalive 100 ms/);
    } finally {
      // The proxy first: with the cable pulled, each side would wait out its close timeout.
      await proxy.close();
      await importer.close();
      await exporter.close();
    }
    expect(await settledHandles(base)).toEqual([]);
  });

  it('events$ completes on close()', async () => {
    const srv = createServer(() => {});
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port: (srv.address() as AddressInfo).port });
    const all = firstValueFrom(proxy.events$.pipe(take(100), toArray()));
    await proxy.close();
    expect(await all).toEqual([]);
    await new Promise<void>((r) => srv.close(() => r()));
    expect(await settledHandles(base)).toEqual([]);
  });
});
