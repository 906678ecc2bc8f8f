import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NetchanError, type ConnectionHandler } from '../../src/index.js';
import { SocketConnection } from '../../src/node.js';
import { DEFAULT_HIGH_WATER_MARK } from '../../src/protocol/limits.js';
import { activeHandles, handleBaseline } from '../helpers/leaks.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A server-side SocketConnection and the raw client socket of the same TCP connection. */
async function tcpPair(config: ConstructorParameters<typeof SocketConnection>[2] = {}): Promise<{ conn: SocketConnection; client: Socket; server: Server }> {
  let accepted!: (s: Socket) => void;
  const got = new Promise<Socket>((r) => (accepted = r));
  const server = createServer((s) => accepted(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const client = connect(port, '127.0.0.1'); // no 'data' listener: it never reads
  client.on('error', () => {});
  const socket = await got;
  return { conn: new SocketConnection(socket, 'tcp://test', config), client, server };
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

/** Writes `chunk` until write() returns false, letting the socket flush between writes. Returns the bytes written. */
async function fillUntilFalse(conn: SocketConnection, chunk: Uint8Array, limit: number): Promise<number> {
  let written = 0;
  while (written < limit) {
    written += chunk.length;
    if (conn.write(chunk) === false) return written;
    await tick();
  }
  throw new Error(`write() still returned true after ${written} bytes`);
}

describe('SocketConnection backpressure over real TCP', () => {
  let base: string[];
  const cleanups: Array<() => Promise<void> | void> = [];
  beforeEach(() => {
    base = handleBaseline();
  });
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
    expect(await activeHandles(base)).toEqual([]);
  });

  async function pair(config?: ConstructorParameters<typeof SocketConnection>[2]) {
    const p = await tcpPair(config);
    cleanups.push(() => new Promise<void>((r) => p.server.close(() => r())));
    cleanups.push(() => void p.client.destroy());
    return p;
  }

  it('the default high-water mark is 1 MiB', () => {
    expect(DEFAULT_HIGH_WATER_MARK).toBe(1 << 20);
  });

  it('a peer that never reads: write() returns false within a bounded number of bytes; onDrain fires once when it reads', async () => {
    const hwm = 256 * 1024;
    const { conn, client } = await pair({ highWaterMark: hwm });
    const ev = events();
    conn.start(ev.handler);
    const chunk = new Uint8Array(64 * 1024);
    // The kernel's socket buffers take their share first (a few MB on loopback); then ours fills up.
    const written = await fillUntilFalse(conn, chunk, 256 << 20);
    expect(written).toBeLessThan(64 << 20);
    expect(conn.bufferedBytes).toBeGreaterThanOrEqual(hwm);
    await tick();
    expect(ev.drains).toBe(0);

    client.resume(); // the peer reads now
    for (let i = 0; i < 500 && ev.drains === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(ev.drains).toBe(1);
    expect(conn.bufferedBytes).toBeLessThanOrEqual(hwm / 2);
    // Writable again, and no second onDrain without another false.
    expect(conn.write(new Uint8Array(10))).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect(ev.drains).toBe(1);
    conn.close();
  });

  it('bufferedBytes counts this turn’s writes at once, then what the socket holds', async () => {
    const { conn, client } = await pair();
    const ev = events();
    conn.start(ev.handler);
    expect(conn.bufferedBytes).toBe(0);
    conn.write(new Uint8Array(1000));
    conn.write(new Uint8Array(234));
    expect(conn.bufferedBytes).toBe(1234);
    await tick();
    expect(conn.bufferedBytes).toBe(conn.raw.writableLength);
    client.resume();
    for (let i = 0; i < 100 && conn.bufferedBytes > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(conn.bufferedBytes).toBe(0);
    conn.close();
  });

  it('a high-water mark below the socket’s own still gets its onDrain (from the write callback)', async () => {
    const { conn, client } = await pair({ highWaterMark: 100 });
    const ev = events();
    conn.start(ev.handler);
    client.resume();
    expect(conn.write(new Uint8Array(500))).toBe(false);
    for (let i = 0; i < 100 && ev.drains === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(ev.drains).toBe(1);
    conn.close();
  });

  it('destroy() drops the socket at once, unsent bytes included, reports the error and releases every handle', async () => {
    const { conn, client } = await pair({ highWaterMark: 64 * 1024 });
    const ev = events();
    conn.start(ev.handler);
    await fillUntilFalse(conn, new Uint8Array(64 * 1024), 256 << 20);
    const peerClosed = new Promise<void>((r) => client.once('close', () => r()));
    client.resume();
    const err = new NetchanError('ETIMEDOUT', 'peer stopped reading');
    conn.destroy(err);
    expect(conn.raw.destroyed).toBe(true);
    expect(conn.bufferedBytes).toBe(0);
    await new Promise((r) => setTimeout(r, 10));
    expect(ev.closes).toEqual([err]);
    expect(ev.drains).toBe(0);
    expect(conn.raw.listenerCount('data') + conn.raw.listenerCount('drain')).toBe(0);
    await peerClosed;
    expect(conn.write(new Uint8Array(1))).toBe(true); // ignored once closed
  });

  it('keeps the older constructor signature (closeTimeout, scheduler)', async () => {
    const { client, server } = await pair();
    void server;
    const c = new SocketConnection(client, 'tcp://x', 1234);
    expect((c as unknown as { closeTimeout: number }).closeTimeout).toBe(1234);
  });
});
