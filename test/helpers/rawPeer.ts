import { connect, createServer, type Server, type Socket } from 'node:net';
import { decode, encode } from '@msgpack/msgpack';
import { FrameDecoder } from '../../src/protocol/FrameDecoder.js';
import { within } from './async.js';

/** u32be length + MessagePack array body, as docs/PROTOCOL.md frames it. */
export function frameBytes(frame: readonly unknown[]): Uint8Array {
  const body = encode(frame);
  return withLength(body);
}

/** Prefixes `body` with its u32be length. */
export function withLength(body: Uint8Array, declared = body.length): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, declared);
  out.set(body, 4);
  return out;
}

/**
 * Speaks the wire protocol by hand over a socket: writes whatever frames or
 * bytes a test asks for and records every frame the other side sends. For
 * misbehaving on purpose, which the real Importer/Exporter never do.
 */
export class RawPeer {
  /** Frames received, decoded (a body that is not MessagePack is kept as its bytes). */
  readonly frames: unknown[][] = [];
  closed = false;
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private waiters: Array<() => void> = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(new Uint8Array(chunk), (body) => {
          let f: unknown;
          try {
            f = decode(body);
          } catch {
            f = [body.slice()];
          }
          this.frames.push(Array.isArray(f) ? f : [f]);
        });
      } catch {
        // The peer under test sent bad framing to us: recorded as a marker frame.
        this.frames.push(['<bad framing>']);
      }
      this.poke();
    });
    socket.on('error', () => {}); // resets are expected here
    socket.on('close', () => {
      this.closed = true;
      this.poke();
    });
  }

  /** Connects to `tcp://host:port`. */
  static connect(url: string): Promise<RawPeer> {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
      const s = connect({ host: u.hostname, port: Number(u.port) }, () => {
        s.off('error', reject);
        s.setNoDelay(true);
        resolve(new RawPeer(s));
      });
      s.once('error', reject);
    });
  }

  send(frame: readonly unknown[]): void {
    this.socket.write(frameBytes(frame));
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.socket.write(bytes);
  }

  /** The importer's HELLO: `[0, version, options]`. */
  hello(version = 2, options: Record<string, unknown> = { maxFrameBytes: 1 << 20, keepalive: 0 }): void {
    this.send([0, version, options]);
  }

  /** Resolves with the first received frame (from `from` on) matching `pred`. */
  frame(pred: (f: unknown[]) => boolean, ms = 5_000, what = 'a frame'): Promise<unknown[]> {
    return this.until(() => this.frames.find(pred), ms, what) as Promise<unknown[]>;
  }

  /** Resolves once `n` frames matching `pred` have arrived. */
  async count(pred: (f: unknown[]) => boolean, n: number, ms = 5_000): Promise<unknown[][]> {
    await this.until(() => (this.frames.filter(pred).length >= n ? true : undefined), ms, `${n} frames`);
    return this.frames.filter(pred);
  }

  /** Resolves once the socket has closed. */
  whenClosed(ms = 5_000): Promise<void> {
    return this.until(() => (this.closed ? true : undefined), ms, 'the connection to close').then(() => {});
  }

  destroy(): void {
    this.socket.destroy();
  }

  private until<T>(get: () => T | undefined, ms: number, what: string): Promise<T> {
    const now = get();
    if (now !== undefined) return Promise.resolve(now);
    return within(
      new Promise<T>((resolve) => {
        const check = () => {
          const v = get();
          if (v !== undefined) {
            this.waiters = this.waiters.filter((w) => w !== check);
            resolve(v);
          }
        };
        this.waiters.push(check);
      }),
      ms,
      what,
    );
  }

  private poke(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** A hand-written server standing in for an exporter: `onPeer` gets each accepted connection. */
export async function fakeExporter(onPeer: (peer: RawPeer) => void): Promise<{ url: string; peers: RawPeer[]; close(): Promise<void> }> {
  const peers: RawPeer[] = [];
  const server: Server = createServer((socket) => {
    const peer = new RawPeer(socket);
    peers.push(peer);
    onPeer(peer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as { port: number };
  return {
    url: `tcp://127.0.0.1:${addr.port}`,
    peers,
    close: () =>
      new Promise<void>((resolve) => {
        for (const p of peers) p.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Frame type numbers (docs/PROTOCOL.md), spelled out so the tests do not depend on src for them. */
export const T = { Hello: 0, Open: 1, Data: 2, Ack: 3, End: 4, Cancel: 5, Error: 6, Ping: 7, Pong: 8, Bye: 9, Receipt: 10, Replay: 11 } as const;
