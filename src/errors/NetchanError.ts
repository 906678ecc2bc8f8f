/**
 * The stable error codes. Match on `code`, not `instanceof`: when both the ESM
 * and the CommonJS builds are loaded, each has its own class.
 */
export type NetchanErrorCode =
  | 'ENOCHAN' // no channel exported under that name
  | 'EDIR' // the channel is exported in the other direction
  | 'EEXIST' // a name exported twice
  | 'ETIMEDOUT' // drain/sync (or the connection's keepalive) ran out of time
  | 'EPROTO' // malformed frame or protocol violation
  | 'ETOOBIG' // frame over the size limit
  | 'ECLOSED' // connection ended, or the channel/endpoint is closed
  | 'EAUTH' // the exporter refused the importer's credentials
  | 'EOVERFLOW' // a bounded send queue is full and its overflow strategy is 'error'
  | 'EREMOTE' // the peer errored the channel with an error of its own
  | 'EINVAL'; // a value or argument is invalid: a value that cannot be encoded or fails its schema, a wrong drain/sync target, a reserved extension type

/**
 * Every error rx-netchan raises. `code` is one of {@link NetchanErrorCode}.
 *
 * ## Example
 * ```ts
 * importer.errors$.subscribe((e) => console.error(e.code, e.message));
 * // ECLOSED connection to tcp://127.0.0.1:7000 ended
 * ```
 */
export class NetchanError extends Error {
  /**
   * @param code The stable error code.
   * @param message What happened, naming the channel where there is one.
   * @param options `cause`: the underlying error (a socket error, say).
   */
  constructor(
    readonly code: NetchanErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'NetchanError';
  }
}

/** True for a {@link NetchanError} from any copy of the library (ESM or CJS). */
export function isNetchanError(e: unknown): e is NetchanError {
  return e instanceof Error && e.name === 'NetchanError' && typeof (e as { code?: unknown }).code === 'string';
}
