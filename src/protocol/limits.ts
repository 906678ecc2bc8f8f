/** Wire protocol version sent in HELLO; see docs/PROTOCOL.md. */
export const PROTOCOL_VERSION = 1;

/** Default largest frame body either side accepts: 16 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Default acknowledgement window (`size`) of an import. */
export const DEFAULT_WINDOW = 1024;

/** Largest `size` an exporter accepts from an importer by default. */
export const DEFAULT_MAX_WINDOW = 65_536;

/** Default bound of a send queue (values waiting for window or receiver). */
export const DEFAULT_QUEUE_LIMIT = 1024;

/** Default keepalive interval on network transports, in ms. */
export const DEFAULT_KEEPALIVE_MS = 15_000;

/** How long close() waits for the peer before destroying the socket, in ms. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 2_000;

/** Largest number of simultaneous bindings one connection may open by default. */
export const DEFAULT_MAX_BINDINGS = 4096;

/**
 * Bytes a connection may buffer for sending before `write()` returns `false`
 * (the engine then stops writing until `onDrain`): 1 MiB.
 */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
