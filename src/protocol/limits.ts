/** Wire protocol version sent in HELLO; see docs/PROTOCOL.md. Version 2 added resume. */
export const PROTOCOL_VERSION = 2;

/** Default largest frame body either side accepts: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Largest frame accepted before the peer's HELLO: a stranger cannot make us buffer more than this. */
export const HANDSHAKE_MAX_FRAME_BYTES = 64 * 1024;

/** Default acknowledgement window (`size`) of an import. */
export const DEFAULT_WINDOW = 1024;

/**
 * `size` an import passes to its binder when the user left `size` unset: a
 * session makes the window adaptive (see session/AdaptiveWindow); a binder
 * that adapts none uses {@link DEFAULT_WINDOW}.
 */
export const AUTO_WINDOW = 0;

/** Largest `size` an endpoint accepts from its peer by default. */
export const DEFAULT_MAX_WINDOW = 65_536;

/** Default bound of a send queue (values waiting for window or receiver). */
export const DEFAULT_QUEUE_LIMIT = 1024;

/** Default keepalive interval on network transports, in ms. */
export const DEFAULT_KEEPALIVE_MS = 15_000;

/** Default time a new connection has to complete the handshake, in ms. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Default time a peer may leave our writes unread while we have data for it, in ms. */
export const DEFAULT_WRITE_TIMEOUT_MS = 20_000;

/** Default time an exporter keeps a vanished importer's session for it to resume, in ms. */
export const DEFAULT_RESUME_GRACE_MS = 30_000;

/** Default grace of `disconnect()`: ms a disconnected client may still acknowledge the values in flight to it. */
export const DEFAULT_DISCONNECT_GRACE_MS = 5_000;

/** How long close() waits for the peer before destroying the socket, in ms. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 2_000;

/** Largest number of simultaneous bindings one connection may open by default. */
export const DEFAULT_MAX_BINDINGS = 4096;

/** Most bytes of values one binding keeps in flight, whatever its window: 8 MiB (a receiver enforces it). */
export const MAX_INFLIGHT_BYTES = 8 * 1024 * 1024;

/**
 * Default most bytes an endpoint holds of values received and not yet taken
 * (an exported `'recv'` channel nobody subscribes to): 64 MiB. A binding that
 * would go past it fails with `'EOVERFLOW'`; its sender keeps the values.
 */
export const DEFAULT_MAX_HELD_BYTES = 64 * 1024 * 1024;

/**
 * Bytes of control frames a connection may queue while its peer is not reading
 * (values and acknowledgements stop at once). Past it the peer is dropped.
 */
export const MAX_CONGESTED_CONTROL_BYTES = 1024 * 1024;

/** A peer that leaves more reliable frames than this unreceipted is violating the protocol. */
export const MAX_UNRECEIPTED = 16_384;

/** A receiver sends RECEIPT once this many reliable frames arrived since its last one. */
export const RECEIPT_EVERY = 32;

/**
 * Bytes a connection may buffer for sending before `write()` returns `false`
 * (the engine then stops writing until `onDrain`): 1 MiB.
 */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/**
 * What one received MessagePack value (a channel value, or a control frame)
 * may cost to decode; checked on its bytes before decoding. See README,
 * "Limits and timeouts".
 */
export interface ValueLimits {
  /** Deepest nesting of arrays and maps (a bare array is depth 1). */
  maxDepth: number;
  /** Most items in one value: array elements, map keys and map values, all levels together. */
  maxElements: number;
}

/**
 * Default `maxDepth`: 100, the depth `@msgpack/msgpack`'s encoder stops at, so
 * whatever a peer's default encoder produces is accepted.
 */
export const DEFAULT_MAX_DEPTH = 100;

/**
 * Default `maxElements`: 32,768. The costliest items to decode (new map keys,
 * timestamps, small bin/ext: 0.3 to 1.3 µs each) then take at most ~50 ms of
 * event loop per value on a shared 2-core machine, garbage collection
 * included (measured; see README "Limits and timeouts").
 */
export const DEFAULT_MAX_ELEMENTS = 32_768;
