import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { WebSocket, WebSocketServer } from 'ws';
import { NetchanError, WebSocketConnection, WsCloseCode, type ConnectionHandler, type WebSocketLike } from '../../src/index.js';
import { wsCloseCodeFor } from '../../src/transport/websocket.js';
import { activeHandles, handleBaseline } from '../helpers/leaks.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** One whole frame of `n` body bytes. */
function frame(n: number): Uint8Array {
  const out = new Uint8Array(4 + n);
  new DataView(out.buffer).setUint32(0, n);
  out.fill(0x90, 4);
  return out;
}

interface Events {
  handler: ConnectionHandler;
  drains: number;
  closes: Array<Error | undefined>;
}

function events(): Events {
  const e: Events = {
    drains: 0,
    closes: [],
    handler: { onData: () => {}, onClose: (err) => void e.closes.push(err), onDrain: () => void e.drains++ },
  };
  return e;
}

/** A WebSocketLike whose buffer a test sets by hand (a browser's: no send callback, no terminate). */
class BrowserLikeSocket implements WebSocketLike {
  binaryType = 'blob';
  readyState = 1;
  bufferedAmount = 0;
  closedWith: Array<[number | undefined, string | undefined]> = [];
  private listeners = new Map<string, Set<(e: never) => void>>();
  send(data: Uint8Array): void {
    this.bufferedAmount += data.length;
  }
  close(code?: number, reason?: string): void {
    this.closedWith.push([code, reason]);
    this.readyState = 3;
    for (const l of this.listeners.get('close') ?? []) l({ code: code ?? 1005, reason: reason ?? '' } as never);
  }
  addEventListener(type: string, l: (e: never) => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(l);
  }
  removeEventListener(type: string, l: (e: never) => void): void {
    this.listeners.get(type)?.delete(l);
  }
}

describe('WebSocketConnection: close codes, destroy, the browser drain poll (unit)', () => {
  it('close(reason) maps ETOOBIG to 1009, EPROTO to 1002, other codes to 1011, none to 1000; the reason text is the code', () => {
    expect(wsCloseCodeFor()).toBe(1000);
    expect(wsCloseCodeFor(new NetchanError('ETOOBIG', 'x'))).toBe(WsCloseCode.TooBig);
    expect(wsCloseCodeFor(new NetchanError('EPROTO', 'x'))).toBe(WsCloseCode.ProtocolError);
    expect(wsCloseCodeFor(new NetchanError('ETIMEDOUT', 'x'))).toBe(1011);
    for (const [reason, code] of [
      [undefined, 1000],
      [new NetchanError('ETOOBIG', 'too big'), 1009],
      [new NetchanError('EPROTO', 'bad'), 1002],
      [new NetchanError('ETIMEDOUT', 'slow'), 1011],
    ] as const) {
      const ws = new BrowserLikeSocket();
      const conn = new WebSocketConnection(ws, 'ws://fake');
      conn.start(events().handler);
      conn.close(reason);
      expect(ws.closedWith).toEqual([[code, reason?.code ?? '']]);
    }
  });

  it('close(reason) while connecting sends the queued frames, then closes with that code', () => {
    const ws = new BrowserLikeSocket();
    ws.readyState = 0;
    const conn = new WebSocketConnection(ws, 'ws://fake');
    conn.start(events().handler);
    conn.write(frame(3));
    expect(conn.bufferedBytes).toBe(7);
    conn.close(new NetchanError('EPROTO', 'x'));
    expect(ws.closedWith).toEqual([]);
    ws.readyState = 1;
    for (const l of (ws as unknown as { listeners: Map<string, Set<(e: unknown) => void>> }).listeners.get('open') ?? []) l({});
    expect(ws.bufferedAmount).toBe(7);
    expect(ws.closedWith).toEqual([[1002, 'EPROTO']]);
  });

  it('without terminate (browsers), destroy() closes with 1011 and reports the error at once', () => {
    const ws = new BrowserLikeSocket();
    const conn = new WebSocketConnection(ws, 'ws://fake');
    const ev = events();
    conn.start(ev.handler);
    const err = new NetchanError('ETIMEDOUT', 'peer stopped reading');
    conn.destroy(err);
    expect(ws.closedWith).toEqual([[1011, 'ETIMEDOUT']]);
    expect(ev.closes).toEqual([err]);
  });

  it('browsers: write() returns false at the high-water mark; bufferedAmount is polled every 10 ms only while backed up; onDrain at half', () => {
    const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
    ts.run(() => {
      const ws = new BrowserLikeSocket();
      const conn = new WebSocketConnection(ws, 'ws://fake', { highWaterMark: 1000, scheduler: ts });
      const ev = events();
      const at: number[] = [];
      conn.start({ ...ev.handler, onDrain: () => void at.push(ts.now()) });
      expect(conn.write(frame(496))).toBe(true); // 500
      expect(conn.write(frame(496))).toBe(false); // 1000: at the mark
      expect(conn.bufferedBytes).toBe(1000);
      ts.schedule(() => (ws.bufferedAmount = 600), 15); // still above half at the 20 ms poll
      ts.schedule(() => (ws.bufferedAmount = 500), 25); // half: the 30 ms poll sees it
      ts.flush();
      expect(at).toEqual([30]);
      // Not backed up: nothing is polled (flush() found no timer left).
      expect(conn.write(frame(10))).toBe(true);
    });
  });
});

describe('WebSocketConnection backpressure over a real ws socket', () => {
  let base: string[];
  const cleanups: Array<() => Promise<void> | void> = [];
  beforeEach(() => {
    base = handleBaseline();
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
    expect(await activeHandles(base)).toEqual([]);
  });

  /** A server-side WebSocketConnection and the ws client of the same connection. */
  async function pair(highWaterMark: number): Promise<{ conn: WebSocketConnection; client: WebSocket }> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    const accepted = new Promise<WebSocketConnection>((r) =>
      wss.once('connection', (ws) => r(new WebSocketConnection(ws as unknown as WebSocketLike, 'ws://test', { highWaterMark }))),
    );
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`);
    client.on('error', () => {});
    cleanups.push(() => client.terminate());
    await new Promise((r) => client.once('open', r));
    return { conn: await accepted, client };
  }

  it('a peer that stops reading: write() returns false within a bounded number of bytes; onDrain fires once it reads again', async () => {
    const hwm = 256 * 1024;
    const { conn, client } = await pair(hwm);
    const ev = events();
    conn.start(ev.handler);
    client.pause();
    const f = frame(64 * 1024 - 4);
    let written = 0;
    for (;;) {
      written += f.length;
      if (conn.write(f) === false) break;
      if (written > 256 << 20) throw new Error('write() never returned false');
      await tick();
    }
    expect(written).toBeLessThan(64 << 20);
    expect(conn.bufferedBytes).toBeGreaterThanOrEqual(hwm);
    expect(conn.bufferedBytes).toBe(conn.raw.bufferedAmount);
    await tick();
    expect(ev.drains).toBe(0);
    client.resume();
    for (let i = 0; i < 500 && ev.drains === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(ev.drains).toBe(1);
    expect(conn.bufferedBytes).toBeLessThanOrEqual(hwm / 2);
    conn.close();
    await new Promise((r) => client.once('close', r));
  });

  it('destroy() terminates the socket at once: onClose gets the error, the peer sees 1006, handles are released', async () => {
    const { conn, client } = await pair(64 * 1024);
    const ev = events();
    conn.start(ev.handler);
    const peer = new Promise<number>((r) => client.once('close', (code) => r(code)));
    const err = new NetchanError('ETIMEDOUT', 'peer stopped reading');
    conn.destroy(err);
    expect(await peer).toBe(1006);
    for (let i = 0; i < 100 && ev.closes.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(ev.closes).toEqual([err]);
  });
});
