import type { Socket } from 'node:net';
import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { DEFAULT_CLOSE_TIMEOUT_MS } from '../protocol/limits.js';
import type { Connection, ConnectionHandler } from '../transport/Connection.js';

/**
 * A {@link Connection} over a Node stream socket (TCP or TLS). Nagle is off: the
 * protocol batches writes per tick itself. close() ends the socket and destroys
 * it if the peer has not closed within `closeTimeout` ms (ws's setCloseTimer).
 */
export class SocketConnection implements Connection {
  readonly keepalive = true;
  readonly framing = 'stream' as const;
  /** Chunks written during this turn of the event loop, sent together. */
  private pending: Uint8Array[] = [];
  private writeScheduled: ReturnType<typeof setImmediate> | null = null;
  private handler: ConnectionHandler | null = null;
  private error: Error | undefined;
  private closeTimer: Subscription | null = null;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    readonly remote: string,
    private readonly closeTimeout = DEFAULT_CLOSE_TIMEOUT_MS,
    private readonly scheduler: SchedulerLike = asyncScheduler,
  ) {
    socket.setNoDelay(true);
  }

  start(handler: ConnectionHandler): void {
    this.handler = handler;
    const s = this.socket;
    s.on('data', this.onData);
    s.on('error', this.onError);
    s.on('end', this.onEnd);
    s.once('close', this.onClose);
    if (s.destroyed) queueClose(this);
  }

  write(chunk: Uint8Array): void {
    if (this.closed || this.socket.destroyed) return;
    // Every flush of one event-loop turn (an ACK batch, then the DATA it let
    // through, say) leaves in one system call, after the I/O of that turn.
    this.pending.push(chunk);
    this.writeScheduled ??= setImmediate(this.writePending);
  }

  flush(): void {
    this.writePending();
  }

  close(): void {
    if (this.closed) return;
    this.writePending();
    this.closed = true;
    if (this.socket.destroyed) return;
    this.socket.end();
    this.closeTimer = this.scheduler.schedule(() => this.socket.destroy(), this.closeTimeout);
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
    const s = this.socket;
    if (s.destroyed) return;
    if (chunks.length === 1) {
      s.write(chunks[0]!);
      return;
    }
    s.cork(); // one writev
    for (const c of chunks) s.write(c);
    s.uncork();
  };

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
    if (this.writeScheduled !== null) clearImmediate(this.writeScheduled);
    this.writeScheduled = null;
    this.pending = [];
    this.closeTimer?.unsubscribe();
    this.closeTimer = null;
    const s = this.socket;
    s.off('data', this.onData);
    s.off('error', this.onError);
    s.off('end', this.onEnd);
    const h = this.handler;
    this.handler = null;
    h?.onClose(this.error);
  };
}

function queueClose(c: SocketConnection): void {
  (c as unknown as { onClose: () => void }).onClose();
}
