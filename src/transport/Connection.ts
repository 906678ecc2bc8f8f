/**
 * Receives what a {@link Connection} delivers. Chunks handed to `onData` belong
 * to the receiver from then on (the transport must not reuse their memory).
 */
export interface ConnectionHandler {
  /** Bytes arrived: any number of frames, possibly split at any byte. */
  onData(chunk: Uint8Array): void;
  /** The connection ended; `error` is set when it did not end cleanly. Called once. */
  onClose(error?: Error): void;
}

/**
 * The one transport interface. TCP, TLS, WebSocket, `memoryPipe` and
 * `virtualPipe` all implement it; the protocol above is the same on each.
 */
export interface Connection {
  /** Starts delivery to `handler`. Called once, by the Exporter or Importer that owns it. */
  start(handler: ConnectionHandler): void;
  /** Sends whole frames. Takes ownership of `chunk`. Ignored once closed. */
  write(chunk: Uint8Array): void;
  /**
   * Ends the connection after pending writes; idempotent. The handler's `onClose`
   * follows once the transport has released everything.
   */
  close(): void;
  /** The peer, for messages and logs, e.g. `tcp://127.0.0.1:7000`. */
  readonly remote: string;
  /** True when the link can go silent without closing (networks): enables keepalive. */
  readonly keepalive: boolean;
  /**
   * True for byte streams (TCP, TLS), where a frame may be written in several
   * chunks: large values are then written as their own chunk, without copying
   * them into the batch. Leave unset for message transports (WebSocket), whose
   * every chunk must hold whole frames.
   */
  readonly stream?: boolean;
  /**
   * Optional: send what `write()` has buffered now. Transports that gather the
   * writes of one event-loop turn into one system call implement it; the
   * protocol calls it when a write should not wait (an early acknowledgement,
   * a full batch).
   */
  flush?(): void;
}
