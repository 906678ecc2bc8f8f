// The socket of a fake peer: writes frames in batches, reads and parses what
// the endpoint under test answers, and offers a PING barrier (the endpoint
// handles frames in order, so once its PONG arrives, every frame written
// before the PING has been handled and its answers have arrived).
import type { Socket } from 'node:net';
import { FrameDecoder } from '../../src/protocol/FrameDecoder.js';
import { buildFrame } from './frameBuilder.js';
import { T, parseIncoming, type Incoming } from './wire.js';

/** How a barrier ended. */
export type BarrierResult = 'pong' | 'closed' | 'timeout';

export class PeerSocket {
  framesSent = 0;
  bytesSent = 0;
  /** The endpoint closed the connection (or it was reset). */
  closed = false;
  /** The connection ERROR `[6, 0, code, message]` the endpoint sent, if any. */
  connectionError: Incoming | null = null;
  /** The endpoint stopped reading what we wrote for `drainMs`; we gave up. */
  stalled = false;
  /** How long a full send buffer may stay full. */
  drainMs = 10_000;
  /** Undecodable bytes from the endpoint (a bug on its side). */
  garbled: string | null = null;
  onFrame: (f: Incoming) => void = () => {};
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  private pongs = 0;
  private pings = 0;
  private waiters: Array<() => void> = [];
  private corked = false;

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length), (body) => {
          const f = parseIncoming(body);
          if (f.type === T.Pong) this.pongs++;
          else if (f.type === T.Ping) this.write(buildFrame('PONG'));
          else if (f.type === T.Error && f.id === 0) this.connectionError = f;
          this.onFrame(f);
        });
      } catch (e) {
        this.garbled ??= (e as Error).message;
      }
      this.poke();
    });
    socket.on('error', () => {}); // resets are part of the game
    socket.on('close', () => {
      this.closed = true;
      this.poke();
    });
  }

  /** Queues one frame's bytes; they leave together at the next {@link flush}. */
  write(bytes: Uint8Array): void {
    if (this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
    }
    this.socket.write(bytes);
    this.framesSent++;
    this.bytesSent += bytes.length;
  }

  /** Sends what was written, then lets the event loop read answers. */
  async flush(): Promise<void> {
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    // Keep our own send buffer bounded: a peer that stops reading throttles us, not our memory.
    if (this.socket.writableLength > 4 * 1024 * 1024 && !this.closed) {
      const drained = await new Promise<boolean>((r) => {
        const timer = setTimeout(() => done(false), this.drainMs);
        const done = (ok: boolean) => {
          clearTimeout(timer);
          this.socket.off('drain', onDrain);
          this.socket.off('close', onDrain);
          r(ok);
        };
        const onDrain = () => done(true);
        this.socket.once('drain', onDrain);
        this.socket.once('close', onDrain);
      });
      if (!drained) {
        // The endpoint stopped reading: give up on this connection.
        this.stalled = true;
        this.socket.destroy();
      }
    }
    await new Promise((r) => setImmediate(r));
  }

  /** Writes PING and waits for its PONG, the connection's end, or `ms`. */
  async barrier(ms: number): Promise<BarrierResult> {
    if (this.closed) return 'closed';
    const want = ++this.pings;
    this.write(buildFrame('PING'));
    await this.flush();
    return this.until(() => (this.pongs >= want ? 'pong' : this.closed ? 'closed' : undefined), ms);
  }

  /** Waits up to `ms` for the endpoint to close the connection. */
  async whenClosed(ms: number): Promise<boolean> {
    return (await this.until(() => (this.closed ? 'closed' : undefined), ms)) === 'closed';
  }

  /** Resolves when `get` returns a result, or with 'timeout' after `ms`. */
  until<R extends string>(get: () => R | undefined, ms: number): Promise<R | 'timeout'> {
    const now = get();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve('timeout');
      }, ms);
      const check = () => {
        const r = get();
        if (r === undefined) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve(r);
      };
      this.waiters.push(check);
    });
  }

  /** Resolves on the next frame or close (or after `ms`). */
  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.waiters = self.waiters.filter((w) => w !== done);
        resolve();
      }
      this.waiters.push(done);
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private poke(): void {
    for (const w of [...this.waiters]) w();
  }
}
