import { asapScheduler, type SchedulerLike } from 'rxjs';
import type { NetchanError } from '../errors/NetchanError.js';
import type { Connection, ConnectionHandler } from './Connection.js';

/** Options of {@link memoryPipe}. */
export interface MemoryPipeConfig {
  /** Scheduler that delivers each write to the other end. Defaults to `asapScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * An in-memory connected pair, like Go's `net.Pipe` or libchan's `Pipe`: what one
 * end writes, the other receives on a later tick, in order. For unit tests and
 * for linking an Exporter and Importer in one process. Always writable: it has no
 * send buffer to fill (`write()` returns `true`, `bufferedBytes` is 0).
 *
 * ## Example
 * ```ts
 * const [a, b] = memoryPipe();
 * exporter.serveConnection(a);
 * const importer = new Importer(b);
 * ```
 */
export function memoryPipe(config: MemoryPipeConfig = {}): [Connection, Connection] {
  const scheduler = config.scheduler ?? asapScheduler;
  const a = new PipeEnd('memory://a', scheduler);
  const b = new PipeEnd('memory://b', scheduler);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class PipeEnd implements Connection {
  peer!: PipeEnd;
  readonly keepalive = false;
  readonly framing = 'stream' as const;
  private handler: ConnectionHandler | null = null;
  private early: Uint8Array[] = [];
  private closing = false;
  private ended = false;

  constructor(
    readonly remote: string,
    private readonly scheduler: SchedulerLike,
  ) {}

  start(handler: ConnectionHandler): void {
    this.handler = handler;
    const early = this.early;
    this.early = [];
    for (const chunk of early) handler.onData(chunk);
  }

  readonly bufferedBytes = 0;

  write(chunk: Uint8Array): boolean {
    if (this.closing) return true;
    this.scheduler.schedule(() => this.peer.receive(chunk));
    return true;
  }

  /** A reset: both ends close now, what is in flight is lost; this end reports `error`. */
  destroy(error?: Error): void {
    if (this.ended) return;
    this.closing = true;
    this.peer.finish(new Error('memory connection reset by the peer'));
    this.finish(error);
  }

  close(_reason?: NetchanError): void {
    if (this.closing) return;
    this.closing = true;
    // Queued after every pending write, so the peer sees all data before the end.
    this.scheduler.schedule(() => {
      this.peer.finish();
      this.finish();
    });
  }

  private receive(chunk: Uint8Array): void {
    if (this.ended) return;
    if (this.handler) this.handler.onData(chunk);
    else this.early.push(chunk);
  }

  private finish(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.closing = true;
    this.early = [];
    this.handler?.onClose(error);
  }
}
