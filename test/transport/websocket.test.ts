import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { firstValueFrom, lastValueFrom, take, toArray, filter, timeout } from 'rxjs';
import { WebSocket, WebSocketServer } from 'ws';
import {
  Exporter,
  Importer,
  NetchanError,
  WS_MAX_BATCH_BYTES,
  WebSocketConnection,
  dialWebSocket,
  exportChannel,
  importChannel,
  setWebSocketImplementation,
  type Connection,
  type WebSocketConstructor,
  type WebSocketLike,
} from '../../src/index.js';
import '../../src/node.js';
import { checkMessage } from '../../src/transport/websocket.js';
import { activeHandles, handleBaseline } from '../helpers/leaks.js';
import { wsPair, wsServe, type WsServed } from '../helpers/ws.js';

const done = (o: import('rxjs').Observable<void>) => lastValueFrom(o, { defaultValue: undefined });

/** activeHandles, given up to 2 s for sockets mid-close (a close handshake is a round trip; CI may be loaded). */
async function leftHandles(base: string[]): Promise<string[]> {
  let left = await activeHandles(base);
  for (let i = 0; i < 40 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    left = await activeHandles(base);
  }
  return left;
}

/** Builds frames the way FrameWriter lays them out: u32be length + body. */
function frames(...bodies: number[]): Uint8Array {
  const total = bodies.reduce((n, b) => n + 4 + b, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let p = 0;
  for (const b of bodies) {
    view.setUint32(p, b);
    out.fill(0x90, p + 4, p + 4 + b);
    p += 4 + b;
  }
  return out;
}

/** An in-process WebSocketLike that records what is sent; `binaryType` takes what a browser takes. */
class FakeSocket implements WebSocketLike {
  private type = 'blob';
  get binaryType(): string {
    return this.type;
  }
  set binaryType(t: string) {
    if (t === 'blob' || t === 'arraybuffer') this.type = t;
  }
  readyState = 1;
  sent: Uint8Array[] = [];
  closedWith: Array<[number | undefined, string | undefined]> = [];
  private listeners = new Map<string, Set<(e: never) => void>>();
  send(data: Uint8Array): void {
    this.sent.push(data.slice());
  }
  close(code?: number, reason?: string): void {
    this.closedWith.push([code, reason]);
    this.readyState = 3;
    this.emit('close', { code: code ?? 1005, reason: reason ?? '' });
  }
  addEventListener(type: string, l: (e: never) => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(l);
  }
  removeEventListener(type: string, l: (e: never) => void): void {
    this.listeners.get(type)?.delete(l);
  }
  emit(type: string, event: object): void {
    for (const l of [...(this.listeners.get(type) ?? [])]) l(event as never);
  }
  listenerCount(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }
}

describe('WebSocket message framing (unit)', () => {
  it('checkMessage accepts whole frames and rejects a split at every byte offset', () => {
    const msg = frames(3, 10, 1);
    expect(checkMessage(msg, 100)).toBeNull();
    for (let cut = 1; cut < msg.length; cut++) {
      const boundary = cut === 7 || cut === 21;
      const head = checkMessage(msg.subarray(0, cut), 100);
      const tail = checkMessage(msg.subarray(cut), 100);
      if (boundary) {
        expect(head).toBeNull();
        expect(tail).toBeNull();
      } else {
        expect(head?.code).toBe('EPROTO');
      }
    }
    expect(checkMessage(frames(101), 100)?.code).toBe('ETOOBIG');
    expect(checkMessage(new Uint8Array(0), 100)?.code).toBe('EPROTO');
  });

  it('sends one message per write, and splits a write over WS_MAX_BATCH_BYTES at frame boundaries only', () => {
    const ws = new FakeSocket();
    const conn = new WebSocketConnection(ws, 'ws://fake');
    conn.start({ onData: () => {}, onClose: () => {} });
    expect(conn.keepalive).toBe(true);
    expect(ws.binaryType).toBe('arraybuffer'); // a browser's socket: 'nodebuffer' is ignored
    conn.write(frames(1, 2, 3));
    expect(ws.sent).toHaveLength(1);
    expect(ws.sent[0]).toEqual(frames(1, 2, 3));

    ws.sent = [];
    const big = 300_000;
    conn.write(frames(big, big, big, big, big, 10)); // ~1.5 MB in one batch
    expect(ws.sent.length).toBe(2);
    for (const m of ws.sent) {
      expect(checkMessage(m, 16 << 20)).toBeNull();
      expect(m.length).toBeLessThanOrEqual(WS_MAX_BATCH_BYTES);
    }
    // A single frame larger than the batch size gets a message of its own.
    ws.sent = [];
    conn.write(frames(10, WS_MAX_BATCH_BYTES + 5, 10));
    expect(ws.sent.map((m) => m.length)).toEqual([14, WS_MAX_BATCH_BYTES + 9, 14]);
  });

  it("asks `ws` for its own Buffers ('nodebuffer': no copy into an ArrayBuffer) and takes them as views", () => {
    const ws = new FakeSocket();
    Object.defineProperty(ws, 'binaryType', { value: 'blob', writable: true }); // ws takes any type it knows
    const conn = new WebSocketConnection(ws, 'ws://fake');
    const got: Uint8Array[] = [];
    conn.start({ onData: (c) => void got.push(c), onClose: () => {} });
    expect(ws.binaryType).toBe('nodebuffer');
    const message = Buffer.from(frames(3));
    ws.emit('message', { data: message });
    expect(got).toHaveLength(1);
    expect(Buffer.isBuffer(got[0])).toBe(false); // a plain Uint8Array…
    expect(got[0]!.buffer).toBe(message.buffer); // …over the same memory
  });

  it('a text message closes with 1003 and reports EPROTO; listeners are removed (frames are checked by the engine: see the real-server test for 1002)', () => {
    const ws = new FakeSocket();
    const conn = new WebSocketConnection(ws, 'ws://fake');
    const got: Array<Error | undefined> = [];
    const chunks: Uint8Array[] = [];
    conn.start({ onData: (c) => chunks.push(c), onClose: (e) => got.push(e) });
    ws.emit('message', { data: 'hello' });
    expect(ws.closedWith[0]?.[0]).toBe(1003);
    expect(chunks).toEqual([]);
    expect(got).toHaveLength(1);
    expect((got[0] as NetchanError).code).toBe('EPROTO');
    expect(ws.listenerCount()).toBe(0);
  });

  it('close(reason) maps a protocol error to 1002 and an oversized frame to 1009', () => {
    for (const [code, wsCode] of [
      ['EPROTO', 1002],
      ['ETOOBIG', 1009],
    ] as const) {
      const ws = new FakeSocket();
      const conn = new WebSocketConnection(ws, 'ws://fake');
      conn.start({ onData: () => {}, onClose: () => {} });
      conn.close(new NetchanError(code, 'bad'));
      expect(ws.closedWith[0]?.[0]).toBe(wsCode);
    }
  });

  it('queues writes while connecting and closes after sending them', () => {
    const ws = new FakeSocket();
    ws.readyState = 0;
    const conn = new WebSocketConnection(ws, 'ws://fake');
    conn.start({ onData: () => {}, onClose: () => {} });
    conn.write(frames(1));
    conn.write(frames(2));
    conn.close();
    expect(ws.sent).toEqual([]);
    ws.readyState = 1;
    ws.emit('open', {});
    expect(ws.sent).toEqual([frames(1), frames(2)]);
    expect(ws.closedWith).toEqual([[1000, '']]);
  });

  it('without an implementation, dialing says what to do', () => {
    const g = globalThis as { WebSocket?: unknown };
    if (g.WebSocket !== undefined) return; // Node 22+: the platform WebSocket is there
    setWebSocketImplementation(undefined);
    try {
      expect(() => dialWebSocket(new URL('ws://127.0.0.1:1/x'), { maxFrameBytes: 1000 })).toThrow(/rx-netchan\/node/);
    } finally {
      setWebSocketImplementation(WebSocket as unknown as WebSocketConstructor);
    }
  });
});

describe('WebSocket transport (real ws server on 127.0.0.1)', () => {
  let base: string[];
  const cleanups: Array<() => Promise<void> | void> = [];
  beforeEach(() => {
    base = handleBaseline();
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
    expect(await leftHandles(base)).toEqual([]);
  });
  const serve = async (...args: Parameters<typeof wsServe>): Promise<WsServed> => {
    const s = await wsServe(...args);
    cleanups.push(() => s.close());
    return s;
  };

  it('export send -> import recv, and import send -> export recv, with drain', async () => {
    const { exporter, importer, url, close } = await wsPair();
    cleanups.push(close);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/netchan$/);
    const nums = exportChannel<number>(exporter, 'nums', 'send');
    const inbox = exportChannel<{ n: number; at: Date; bin: Uint8Array }>(exporter, 'inbox', 'recv');
    const got = firstValueFrom(importChannel<number>(importer, 'nums', 'recv', { size: 8 }).pipe(take(1000), toArray()));
    for (let i = 0; i < 1000; i++) nums.next(i);
    expect(await got).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    await done(exporter.drain(5000));

    const received = firstValueFrom(inbox.pipe(take(3), toArray()));
    const out = importChannel<{ n: number; at: Date; bin: Uint8Array }>(importer, 'inbox', 'send', { size: 2 });
    const at = new Date(1_700_000_000_000);
    for (let n = 0; n < 3; n++) out.next({ n, at, bin: new Uint8Array([n, 255]) });
    await done(importer.drain(5000));
    const vals = await received;
    expect(vals.map((v) => v.n)).toEqual([0, 1, 2]);
    expect(vals[2]!.at).toEqual(at);
    expect(vals[2]!.bin).toEqual(new Uint8Array([2, 255]));
    expect(importer.remote).toBe(url);
    expect(exporter.clients[0]!.remote).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
  });

  it('attaches to an existing http.Server: shares the port, serves several paths, rejects a wrong path with 404', async () => {
    const server: Server = createServer((_req, res) => res.end('web app'));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const a = await serve({ transport: { server } }, { path: '/a' });
    const b = await serve({ transport: { server } }, { path: '/b' });
    expect(a.url).toBe(`ws://127.0.0.1:${port}/a`);
    expect(b.url).toBe(`ws://127.0.0.1:${port}/b`);
    exportChannel<string>(a.exporter, 'who', 'send').next('a');
    exportChannel<string>(b.exporter, 'who', 'send').next('b');
    expect(await firstValueFrom(importChannel<string>(a.connect(), 'who', 'recv'))).toBe('a');
    expect(await firstValueFrom(importChannel<string>(b.connect(), 'who', 'recv'))).toBe('b');
    // The web app still answers plain HTTP on the same port.
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('web app');

    // A second exporter on a taken path is refused.
    await expect(new Exporter({ transport: { server } }).listen(`ws://127.0.0.1:${port}/a`)).rejects.toMatchObject({ code: 'EEXIST' });

    // A wrong path: the upgrade is refused with 404 and a message naming the endpoints.
    const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const raw = new WebSocket(`ws://127.0.0.1:${port}/nope`);
      raw.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      raw.on('open', () => reject(new Error('opened')));
      raw.on('error', () => {});
    });
    expect(status.status).toBe(404);
    expect(status.body).toMatch(/no rx-netchan WebSocket endpoint at \/nope/);
    // The importer sees the refusal on errors$.
    const lost = Importer.connect(`ws://127.0.0.1:${port}/nope`);
    cleanups.push(() => lost.close());
    const err = await firstValueFrom(lost.errors$);
    expect(err.code).toBe('ECLOSED');
    expect(err.message).toMatch(/404/);

    // close() closes the exporter's sockets but leaves the user's server running.
    await a.exporter.close();
    expect(server.listening).toBe(true);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('web app');
  });

  it('a plain HTTP request to an own server gets 426', async () => {
    const s = await serve();
    const res = await fetch(s.url.replace('ws:', 'http:'));
    expect(res.status).toBe(426);
    await res.text();
  });

  it('a text message is closed with 1003 and the exporter reports EPROTO', async () => {
    const s = await serve();
    const errors: NetchanError[] = [];
    s.exporter.errors$.subscribe((e) => errors.push(e));
    const raw = new WebSocket(s.url);
    await new Promise((r) => raw.once('open', r));
    raw.send('{"hello":"json"}');
    const [code, reason] = await new Promise<[number, string]>((r) => raw.once('close', (c, why) => r([c, why.toString()])));
    expect(code).toBe(1003);
    expect(reason).toBe('EPROTO');
    for (let i = 0; i < 100 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(errors.map((e) => e.code)).toEqual(['EPROTO']);
    expect(errors[0]!.message).toMatch(/text WebSocket message.*binary messages only/);
  });

  it('a frame split across two messages is closed with 1002 and EPROTO; an oversized message with 1009 and ETOOBIG', async () => {
    const s = await serve({ maxFrameBytes: 1000 });
    const errors: NetchanError[] = [];
    s.exporter.errors$.subscribe((e) => errors.push(e));
    const raw = new WebSocket(s.url);
    await new Promise((r) => raw.once('open', r));
    const f = frames(20);
    raw.send(f.subarray(0, 10));
    raw.send(f.subarray(10));
    expect(await new Promise((r) => raw.once('close', r))).toBe(1002);

    const raw2 = new WebSocket(s.url);
    await new Promise((r) => raw2.once('open', r));
    raw2.send(new Uint8Array(WS_MAX_BATCH_BYTES + 1)); // over max(1000 + 4, 1 MiB)
    expect(await new Promise((r) => raw2.once('close', r))).toBe(1009);
    for (let i = 0; i < 100 && errors.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(errors.map((e) => e.code)).toEqual(['EPROTO', 'ETOOBIG']);
  });

  it('each flushed batch is one binary message of whole frames (HELLO and OPENs of one tick arrive together)', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    const messages: Uint8Array[] = [];
    wss.on('connection', (ws) => ws.on('message', (m: Buffer, isBinary: boolean) => isBinary && messages.push(new Uint8Array(m))));
    const importer = Importer.connect(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`);
    cleanups.push(() => importer.close());
    importer.errors$.subscribe(() => {});
    const subs = [importChannel(importer, 'x', 'recv').subscribe(), importChannel(importer, 'y', 'recv').subscribe()];
    cleanups.push(() => subs.forEach((s) => s.unsubscribe()));
    for (let i = 0; i < 100 && messages.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(messages).toHaveLength(1);
    let count = 0;
    let p = 0;
    const m = messages[0]!;
    while (p < m.length) {
      p += 4 + new DataView(m.buffer, m.byteOffset).getUint32(p);
      count++;
    }
    expect(p).toBe(m.length);
    expect(count).toBe(3); // HELLO, OPEN x, OPEN y
    for (const ws of wss.clients) ws.terminate();
  });

  it('values larger than one batch and many values per tick cross intact', async () => {
    const s = await serve();
    const ch = exportChannel<Uint8Array>(s.exporter, 'blobs', 'send');
    const got = firstValueFrom(importChannel<Uint8Array>(s.connect(), 'blobs', 'recv', { size: 16 }).pipe(take(12), toArray()));
    for (let i = 0; i < 12; i++) ch.next(new Uint8Array(400_000).fill(i));
    const vals = await got;
    expect(vals.map((v) => [v.length, v[0], v[399_999]])).toEqual(Array.from({ length: 12 }, (_, i) => [400_000, i, i]));
  });

  it('exporter.close() closes the server and every socket; importers complete (a goodbye is not an error)', async () => {
    const base2 = handleBaseline();
    const s = await wsServe();
    exportChannel<number>(s.exporter, 'n', 'send');
    const importers = [s.connect(), s.connect(), s.connect()];
    const ended = importers.map((i) => lastValueFrom(importChannel<number>(i, "n", "recv").pipe(toArray())).catch((e: NetchanError) => e.code));
    for (let i = 0; i < 100 && s.exporter.clients.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    expect(s.exporter.clients).toHaveLength(3);
    await s.exporter.close();
    expect(await Promise.all(ended)).toEqual([[], [], []]);
    expect(importers.every((i) => i.closed)).toBe(true);
    await expect(fetch(s.url.replace('ws:', 'http:'))).rejects.toThrow();
    expect(await leftHandles(base2)).toEqual([]);
  });

  it('a dropped connection loses nothing: its unacknowledged values go to the next importer', async () => {
    const s = await serve();
    const ch = exportChannel<number>(s.exporter, 'work', 'send');
    const first = s.connect();
    const seen: number[] = [];
    // Manual acks that never come: everything in flight stays unacknowledged.
    const sub = importChannel<number>(first, 'work', 'recv', { size: 5, ack: 'manual' }).subscribe({
      next: (d) => seen.push((d as unknown as { value: number }).value),
      error: () => {},
    });
    cleanups.push(() => sub.unsubscribe());
    first.errors$.subscribe(() => {});
    for (let i = 0; i < 20; i++) ch.next(i);
    for (let i = 0; i < 200 && seen.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    // Cut the socket like a closing tab: no BYE, no close handshake.
    const conn = (first as unknown as { connection: { link: { conn: Connection } } }).connection.link.conn as WebSocketConnection;
    (conn.raw as unknown as WebSocket).terminate();
    const second = s.connect();
    const rest = await firstValueFrom(importChannel<number>(second, 'work', 'recv').pipe(take(20), toArray(), timeout(5000)));
    expect(rest).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('an importer dialing a closed port reports ECLOSED', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const importer = Importer.connect(`ws://127.0.0.1:${port}/x`);
    const err = await firstValueFrom(importer.errors$.pipe(filter((e) => e.code === 'ECLOSED')));
    expect(err.message).toMatch(/ECONNREFUSED|failed/);
    expect(importer.closed).toBe(true);
  });

  it('uses the platform WebSocket when one is given (the browser path)', async () => {
    const s = await serve();
    exportChannel<string>(s.exporter, 'hi', 'send').next('there');
    // Any WHATWG-style constructor works; here ws stands in for the browser's.
    class PlatformLike extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols); // no ws options: like a browser
      }
    }
    const importer = s.connect({ transport: { WebSocket: PlatformLike, protocols: ['netchan.v1'] } });
    expect(await firstValueFrom(importChannel<string>(importer, 'hi', 'recv'))).toBe('there');
  });
});

describe('wss://', () => {
  it('serves over TLS with a server of its own, and the client trusts a given ca', async () => {
    const { readFileSync } = await import('node:fs');
    const key = readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url));
    const cert = readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url));
    const base = handleBaseline();
    const exporter = new Exporter({ transport: { key, cert } });
    exportChannel<string>(exporter, 'secret', 'send').next('s3cr3t');
    const { url } = await exporter.listen('wss://127.0.0.1:0/secure');
    expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/secure$/);
    const importer = Importer.connect(url, { transport: { ca: cert } });
    expect(await firstValueFrom(importChannel<string>(importer, 'secret', 'recv'))).toBe('s3cr3t');
    await importer.close();
    await exporter.close();
    expect(await leftHandles(base)).toEqual([]);
  });

  it('passes every TLS option to the ws client: a checkServerIdentity that rejects fails the connection', async () => {
    const { readFileSync } = await import('node:fs');
    const key = readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url));
    const cert = readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url));
    const exporter = new Exporter({ transport: { key, cert } });
    const { url } = await exporter.listen('wss://127.0.0.1:0/secure');
    const hosts: string[] = [];
    const importer = Importer.connect(url, {
      transport: { ca: cert, checkServerIdentity: (host: string) => (hosts.push(host), new Error('certificate is not the pinned one')) },
    });
    const err = await firstValueFrom(importer.errors$.pipe(timeout(5_000)));
    expect(hosts).toEqual(['127.0.0.1']);
    expect(err.code).toBe('ECLOSED');
    expect(err.message).toContain('certificate is not the pinned one');
    await importer.close();
    await exporter.close();
  });

  it('passes every https.createServer option of a wss:// listener through (SNICallback at the top level)', async () => {
    const { readFileSync } = await import('node:fs');
    const { createSecureContext } = await import('node:tls');
    const key = readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url));
    const cert = readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url));
    const names: string[] = [];
    const SNICallback = (name: string, done: (err: Error | null, ctx: ReturnType<typeof createSecureContext>) => void) => {
      names.push(name);
      done(null, createSecureContext({ key, cert }));
    };
    const exporter = new Exporter({ transport: { key, cert, SNICallback } });
    exportChannel<string>(exporter, 'secret', 'send').next('sni');
    const { url } = await exporter.listen('wss://127.0.0.1:0/secure');
    const importer = Importer.connect(url, { transport: { ca: cert, servername: 'netchan.test', checkServerIdentity: () => undefined } });
    expect(await firstValueFrom(importChannel<string>(importer, 'secret', 'recv'))).toBe('sni');
    expect(names).toEqual(['netchan.test']);
    await importer.close();
    await exporter.close();
  });
});
