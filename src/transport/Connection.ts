import type { NetchanError } from '../errors/NetchanError.js';

/**
 * Receives what a {@link Connection} delivers. Chunks handed to `onData` belong
 * to the receiver from then on (the transport must not reuse their memory).
 */
export interface ConnectionHandler {
  /**
   * Bytes arrived. On a `'stream'` connection: any number of frames, possibly
   * split at any byte. On a `'message'` connection: one message, which must hold
   * whole frames only.
   */
  onData(chunk: Uint8Array): void;
  /** The connection ended; `error` is set when it did not end cleanly. Called once. */
  onClose(error?: Error): void;
  /**
   * The transport's send buffer drained below its low-water mark after a
   * `write()` returned `false`: the protocol may write again.
   */
  onDrain?(): void;
}

/**
 * The one transport interface. TCP, TLS, WebSocket, `memoryPipe` and
 * `virtualPipe` all implement it; the protocol above is the same on each.
 * Transports move bytes (or messages); only the protocol knows frames.
 */
export interface Connection {
  /** Starts delivery to `handler`. Called once, by the Exporter or Importer that owns it. */
  start(handler: ConnectionHandler): void;
  /**
   * Sends bytes. Takes ownership of `chunk`. Ignored once closed. On a
   * `'message'` connection each call is one message of whole frames.
   *
   * Returns `false` when the transport's send buffer is over its high-water
   * mark (the bytes are still kept): the caller should stop writing until
   * `onDrain`. `void` counts as `true`.
   */
  write(chunk: Uint8Array): boolean | void;
  /**
   * Ends the connection after pending writes; idempotent. `reason`, when set,
   * is why (a transport with close codes, WebSocket, maps it to one). The
   * handler's `onClose` follows once the transport has released everything.
   */
  close(reason?: NetchanError): void;
  /**
   * Optional: ends the connection at once, dropping whatever is unsent (a
   * reset). Used when the peer stopped reading. Falls back to `close()`.
   */
  destroy?(error?: Error): void;
  /** The peer, for messages and logs, e.g. `tcp://127.0.0.1:7000`. */
  readonly remote: string;
  /** True when the link can go silent without closing (networks): enables keepalive. */
  readonly keepalive: boolean;
  /**
   * `'stream'` (the default: TCP, TLS, `memoryPipe`): a byte stream; a frame may
   * arrive in pieces, and large values are written as their own chunk without
   * being copied into the batch. `'message'` (WebSocket, `virtualPipe`): every
   * write and every delivered chunk holds whole frames; the protocol cuts its
   * batches at frame boundaries into messages of at most 1 MiB (a larger single
   * frame gets a message of its own).
   */
  readonly framing?: 'stream' | 'message';
  /** Optional: bytes accepted by `write()` and not yet handed to the network. */
  readonly bufferedBytes?: number;
  /**
   * Optional: send what `write()` has buffered now. Transports that gather the
   * writes of one event-loop turn into one system call implement it; the
   * protocol calls it when a write should not wait (an early acknowledgement,
   * a full batch).
   */
  flush?(): void;
}
