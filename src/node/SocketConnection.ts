import type { Socket } from 'node:net';
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import type { NetchanError } from '../errors/NetchanError.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_HIGH_WATER_MARK } from '../protocol/limits.js';
import type { Connection, ConnectionHandler } from '../transport/Connection.js';

/** Options of a {@link SocketConnection}. */
export interface SocketConnectionConfig {
  /** How long close() waits for the peer to close before destroying the socket, in ms. Defaults to 2,000. */
  closeTimeout?: number;
  /**
   * Bytes buffered for sending (the socket's `writableLength` plus this turn's
   * writes) at which `write()` starts returning `false`. Defaults to 1 MiB (1,048,576).
   */
  highWaterMark?: number;
  /** Scheduler of the close timer. Defaults to `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * A {@link Connection} over a Node stream socket (TCP or TLS). Nagle is off: the
 * protocol batches writes per tick itself. close() ends the socket and destroys
 * it if the peer has not closed within `closeTimeout` ms (ws's setCloseTimer).
 *
 * `write()` returns `false` once `highWaterMark` bytes wait to be sent (a peer
 * that reads slowly or not at all); `onDrain` follows when the socket has
 * drained. `destroy()` drops the socket at once, unsent bytes included.
 */
export class SocketConnection implements Connection {
  readonly keepalive = true;
  readonly framing = 'stream' as const;
  /** Chunks written during this turn of the event loop, sent together. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private writeScheduled: ReturnType<typeof setImmediate> | null = null;
  private handler: ConnectionHandler | null = null;
  private error: Error | undefined;
  private closeTimer: Subscription | null = null;
  private closed = false;
  /** A write returned false and onDrain has not been called since. */
  private backedUp = false;
  private readonly closeTimeout: number;
  private readonly highWaterMark: number;
  private readonly scheduler: SchedulerLike;

  /**
   * @param socket A connected (or connecting) `net.Socket` or `tls.TLSSocket`.
   * @param remote The peer, for messages, e.g. `tcp://127.0.0.1:7000`.
   * @param config Options; a number is `closeTimeout` (the older signature, with `scheduler` next).
   */
  constructor(
    private readonly socket: Socket,
    readonly remote: string,
    config: SocketConnectionConfig | number = {},
    scheduler?: SchedulerLike,
  ) {
    const c = typeof config === 'number' ? { closeTimeout: config, scheduler } : config;
    this.closeTimeout = c.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.highWaterMark = c.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.scheduler = c.scheduler ?? asyncScheduler;
    socket.setNoDelay(true);
  }

  start(handler: ConnectionHandler): void {
    this.handler = handler;
    const s = this.socket;
    s.on('data', this.onData);
    s.on('error', this.onError);
    s.on('end', this.onEnd);
    s.on('drain', this.checkDrain);
    s.once('close', this.onClose);
    if (s.destroyed) queueClose(this);
  }

  /** Bytes written and not yet handed to the operating system. */
  get bufferedBytes(): number {
    return this.socket.writableLength + this.pendingBytes;
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed || this.socket.destroyed) return true;
    // Every flush of one event-loop turn (an ACK batch, then the DATA it let
    // through, say) leaves in one system call, after the I/O of that turn.
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.writeScheduled ??= setImmediate(this.writePending);
    if (this.bufferedBytes < this.highWaterMark) return true;
    this.backedUp = true;
    return false;
  }

  flush(): void {
    this.writePending();
  }

  close(_reason?: NetchanError): void {
    if (this.closed) return;
    this.writePending();
    this.closed = true;
    if (this.socket.destroyed) return;
    this.socket.end();
    this.closeTimer = this.scheduler.schedule(() => this.socket.destroy(), this.closeTimeout);
  }

  /** Drops the socket now, as a reset: what is unsent is lost; `onClose` gets `error`. */
  destroy(error?: Error): void {
    if (error) this.error ??= error;
    this.closed = true;
    this.dropPending();
    this.socket.destroy();
  }

  /** The socket, for tests and metrics. */
  get raw(): Socket {
    return this.socket;
  }

  private readonly writePending = (): void => {
    if (this.writeScheduled !== null) {
      clearImmediate(this.writeScheduled);
      this.writeScheduled = null;
    }
    const chunks = this.pending;
    if (chunks.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    const s = this.socket;
    if (s.destroyed) return;
    // While backed up, the last chunk's callback is a drain signal too: the
    // socket emits 'drain' only if its own (smaller) high-water mark was passed.
    const cb = this.backedUp ? this.checkDrain : undefined;
    if (chunks.length === 1) {
      s.write(chunks[0]!, cb);
      return;
    }
    s.cork(); // one writev
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) s.write(chunks[i]!);
    s.write(chunks[last]!, cb);
    s.uncork();
  };

  /** Calls onDrain once what is buffered is down to half the high-water mark. */
  private readonly checkDrain = (): void => {
    if (!this.backedUp || this.closed || this.bufferedBytes > this.highWaterMark / 2) return;
    this.backedUp = false;
    this.handler?.onDrain?.();
  };

  private dropPending(): void {
    if (this.writeScheduled !== null) clearImmediate(this.writeScheduled);
    this.writeScheduled = null;
    this.pending = [];
    this.pendingBytes = 0;
    this.backedUp = false;
  }

  private readonly onData = (chunk: Buffer): void => {
    // A plain Uint8Array view: users get Uint8Array values, not Buffers, from bin data.
    this.handler?.onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  };

  private readonly onError = (e: Error): void => {
    this.error ??= e;
  };

  private readonly onEnd = (): void => {
    // The peer finished writing; finish ours so the socket closes.
    if (!this.socket.destroyed) this.socket.end();
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.dropPending();
    this.closeTimer?.unsubscribe();
    this.closeTimer = null;
    const s = this.socket;
    s.off('data', this.onData);
    s.off('error', this.onError);
    s.off('end', this.onEnd);
    s.off('drain', this.checkDrain);
    const h = this.handler;
    this.handler = null;
    h?.onClose(this.error);
  };
}

function queueClose(c: SocketConnection): void {
  (c as unknown as { onClose: () => void }).onClose();
}
