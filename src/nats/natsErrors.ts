import { NetchanError, type NetchanErrorCode } from '../errors/NetchanError.js';

/**
 * Classifies errors of the NATS client by `name` (not `instanceof`: the client
 * may be loaded twice) and the JetStream API codes of nats-server
 * (server/errors.json).
 */

/** JetStream API error codes this library reacts to. */
export const JsCode = {
  StreamNotFound: 10059,
  ConsumerNotFound: 10014,
  StreamNameInUse: 10058,
  TemporarilyUnavailable: 10008,
  InsufficientResources: 10023,
  StoreFailed: 10077,
} as const;

/** The `err_code` of a JetStream API error, or undefined. */
export function apiErrorCode(e: unknown): number | undefined {
  if (!isApiError(e)) return undefined;
  const code = (e as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** JetStreamApiError and its subclasses (ConsumerNotFoundError, StreamNotFoundError …) carry `apiError()`. */
function isApiError(e: unknown): e is Error {
  return e instanceof Error && typeof (e as { apiError?: unknown }).apiError === 'function';
}

/** The HTTP-like status of a JetStream API error (503 = try again), or undefined. */
function apiStatus(e: unknown): number | undefined {
  if (!isApiError(e)) return undefined;
  const status = (e as { status?: unknown }).status;
  return typeof status === 'number' ? status : undefined;
}

/** No one answered a request: nothing subscribed (no stream, no leader yet, no exporter). */
export function isNoResponders(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'NoRespondersError' || e.name === 'JetStreamNotEnabled') return true;
  const probe = (e as { isNoResponders?: unknown }).isNoResponders;
  return e.name === 'RequestError' && typeof probe === 'function' && probe.call(e) === true;
}

/** The connection is closed for good (not merely reconnecting); a request cut by it says so in its cause. */
export function isClosed(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'ClosedConnectionError' || e.name === 'DrainingConnectionError') return true;
  return e.name === 'RequestError' && (isClosed(e.cause) || /connection closed/i.test(e.message));
}

/**
 * Worth retrying: a timeout, no responders (a stream leader being elected), a
 * 503 from JetStream (temporarily unavailable, store full with discard 'new').
 */
export function isTransient(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'TimeoutError' || isNoResponders(e)) return true;
  // A request whose connection dropped: the client reconnects by itself.
  if (e.name === 'RequestError' && /disconnect|reconnect/i.test(e.message)) return true;
  return apiStatus(e) === 503;
}

/** The server answered with an error, or the client refused to send (max_payload): nothing was stored. */
export function isRefusal(e: unknown): boolean {
  if (apiErrorCode(e) !== undefined) return true;
  return e instanceof Error && /max_payload/.test(e.message);
}

/** Wraps any NATS failure as a NetchanError; `what` says what was being done, naming the channel. */
export function toNetchanError(e: unknown, what: string): NetchanError {
  if (e instanceof Error && e.name === 'NetchanError') return e as NetchanError;
  const err = e instanceof Error ? e : new Error(String(e));
  let code: NetchanErrorCode = 'EPROTO';
  if (isClosed(err)) code = 'ECLOSED';
  else if (err.name === 'TimeoutError') code = 'ETIMEDOUT';
  else if (err.name === 'PermissionViolationError' || err.name === 'AuthorizationError') code = 'EAUTH';
  else if (apiErrorCode(err) === 10054 || /max_payload/.test(err.message)) code = 'ETOOBIG';
  return new NetchanError(code, `${what}: ${err.message}`, { cause: e });
}
