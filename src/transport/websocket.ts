import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_MAX_FRAME_BYTES } from '../protocol/limits.js';
import type { Connection, ConnectionHandler } from './Connection.js';
import type { TransportOptions } from './registry.js';

/**
 * Most bytes a sender puts into one WebSocket message, unless the message is a
 * single frame. A receiver therefore never needs to accept a message larger
 * than `max(maxFrameBytes + 4, WS_MAX_BATCH_BYTES)`. See docs/PROTOCOL.md, "WebSocket".
 */
export const WS_MAX_BATCH_BYTES = 1024 * 1024;

/** Largest WebSocket message a receiver with this frame limit accepts. */
export function wsMaxMessageBytes(maxFrameBytes: number): number {
  return Math.max(maxFrameBytes + 4, WS_MAX_BATCH_BYTES);
}

/** WebSocket close codes rx-netchan sends (RFC 6455 §7.4.1). */
export const WsCloseCode = {
  Normal: 1000,
  /** A frame split across messages, or another framing violation. */
  ProtocolError: 1002,
  /** A text message: rx-netchan speaks binary messages only. */
  UnsupportedData: 1003,
  /** A message or frame over the limit. */
  TooBig: 1009,
} as const;

/** The part of the WHATWG `WebSocket` (browsers, Node 22+, and the `ws` package) that rx-netchan uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: never) => void): void;
  removeEventListener(type: string, listener: (event: never) => void): void;
  /** `ws` only: destroys the socket at once. */
  terminate?(): void;
}

/** A `WebSocket` constructor: the platform's, or `ws`'s. The third argument is passed to `ws` only. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[], options?: object) => WebSocketLike;

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;

// On globalThis so the ESM and CJS builds, if both are loaded, share one setting.
const IMPL = Symbol.for('rx-netchan.WebSocket');

/**
 * Sets the `WebSocket` class `ws://` connections are made with. `rx-netchan/node`
 * calls this with the `ws` package's class (Node 20 has no global WebSocket);
 * without it, `globalThis.WebSocket` is used.
 */
export function setWebSocketImplementation(ctor: WebSocketConstructor | undefined): void {
  (globalThis as unknown as Record<symbol, unknown>)[IMPL] = ctor;
}

function implementation(options: TransportOptions): WebSocketConstructor {
  const ctor =
    (options['WebSocket'] as WebSocketConstructor | undefined) ??
    ((globalThis as unknown as Record<symbol, WebSocketConstructor | undefined>)[IMPL]) ??
    ((globalThis as unknown as { WebSocket?: WebSocketConstructor }).WebSocket);
  if (typeof ctor !== 'function') {
    throw new NetchanError('EPROTO', "no WebSocket implementation here: on Node 20, import 'rx-netchan/node' once (it uses the ws package)");
  }
  return ctor;
}

/**
 * Dials `ws://` or `wss://` with the platform `WebSocket` (or `ws` under
 * `rx-netchan/node`). Returns at once; frames written before the socket opens
 * are sent when it does.
 *
 * Transport options (the Importer's `transport`): `protocols` (subprotocols),
 * `WebSocket` (a constructor to use for this connection), `wsOptions` (more
 * `ws` client options: `headers`, …), and every other key goes to `ws` as well,
 * so every `tls.connect()` option works for `wss://` as for `tls://` (`ca`,
 * `checkServerIdentity`, `servername`, client `cert`/`key`, …). Browsers ignore
 * all but `protocols` and `WebSocket`.
 */
export function dialWebSocket(url: URL, options: TransportOptions): Connection {
  const Ctor = implementation(options);
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const protocols = options['protocols'] as string | string[] | undefined;
  // ws (Node) only; browsers ignore a third argument. Every key but ours passes, TLS options included.
  const { maxFrameBytes: _max, protocols: _protocols, WebSocket: _ctor, wsOptions: extra, ...tls } = options;
  const wsOptions: Record<string, unknown> = { maxPayload: wsMaxMessageBytes(maxFrameBytes), ...tls, ...(extra as object | undefined) };
  const href = url.href;
  let ws: WebSocketLike;
  try {
    ws = new Ctor(href, protocols, wsOptions);
  } catch (e) {
    throw new NetchanError('EPROTO', `cannot open a WebSocket to ${href}: ${(e as Error).message}`, { cause: e });
  }
  return new WebSocketConnection(ws, href.replace(/\/$/, ''), { maxFrameBytes });
}

/** Options of a {@link WebSocketConnection}. */
export interface WebSocketConnectionConfig {
  /** The receiver's frame limit. Defaults to 16 MiB. */
  maxFrameBytes?: number;
  /** How long close() waits for the peer's close handshake, in ms. Defaults to 2,000. */
  closeTimeout?: number;
  /** Scheduler of the close timer. Defaults to `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * A {@link Connection} over a WebSocket: the platform's (browsers, Node 22+) or
 * one from the `ws` package, client or server side.
 *
 * Each write is one or more whole frames; they go out as binary messages of at
 * most {@link WS_MAX_BATCH_BYTES} (a larger single frame gets a message of its
 * own), and a frame is never split across messages. The receiving side checks
 * that: a message that ends mid-frame closes the connection with 1002 and
 * `'EPROTO'`, a text message with 1003 and `'EPROTO'`.
 */
export class WebSocketConnection implements Connection {
  readonly keepalive = true;
  readonly framing = 'message' as const;
  private handler: ConnectionHandler | null = null;
  private early: Uint8Array[] = [];
  private pending: Uint8Array[] = [];
  private error: Error | undefined;
  private closeTimer: Subscription | null = null;
  private closing = false;
  private ended = false;
  private readonly maxFrameBytes: number;
  private readonly closeTimeout: number;
  private readonly scheduler: SchedulerLike;

  constructor(
    private readonly ws: WebSocketLike,
    readonly remote: string,
    config: WebSocketConnectionConfig = {},
  ) {
    this.maxFrameBytes = config.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.closeTimeout = config.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.scheduler = config.scheduler ?? asyncScheduler;
    ws.binaryType = 'arraybuffer';
    // Listen from the start: a server-side socket may receive before start().
    ws.addEventListener('open', this.onOpen);
    ws.addEventListener('message', this.onMessage);
    ws.addEventListener('error', this.onError);
    ws.addEventListener('close', this.onClose);
  }

  start(handler: ConnectionHandler): void {
    this.handler = handler;
    const early = this.early;
    this.early = [];
    for (const chunk of early) {
      if (this.ended || this.handler === null) return;
      handler.onData(chunk);
    }
    if (this.ws.readyState === CLOSED && !this.ended) this.finish();
  }

  write(chunk: Uint8Array): void {
    if (this.closing || this.ended) return;
    if (this.ws.readyState === CONNECTING) this.pending.push(chunk);
    else if (this.ws.readyState === OPEN) this.send(chunk);
  }

  close(): void {
    if (this.closing || this.ended) return;
    this.closing = true;
    // Still connecting: the queued frames (HELLO, BYE) go out once open, then we close.
    if (this.ws.readyState === CONNECTING && this.pending.length > 0) return;
    this.shut(WsCloseCode.Normal, '');
  }

  /** The socket, for tests and metrics. */
  get raw(): WebSocketLike {
    return this.ws;
  }

  /** Sends whole frames as one or more messages of at most WS_MAX_BATCH_BYTES. */
  private send(chunk: Uint8Array): void {
    const ws = this.ws;
    if (chunk.length <= WS_MAX_BATCH_BYTES) {
      ws.send(chunk);
      return;
    }
    let start = 0;
    let pos = 0;
    while (pos + 4 <= chunk.length) {
      const next = pos + 4 + readLength(chunk, pos);
      if (next - start > WS_MAX_BATCH_BYTES && pos > start) {
        ws.send(chunk.subarray(start, pos));
        start = pos;
      }
      pos = next;
    }
    if (start < chunk.length) ws.send(chunk.subarray(start));
  }

  private shut(code: number, reason: string): void {
    this.closing = true;
    this.pending = [];
    if (this.ended) return;
    try {
      this.ws.close(code, reason);
    } catch {
      // Closing a socket that never opened may throw in some implementations; the close event follows anyway.
    }
    this.closeTimer ??= this.scheduler.schedule(() => {
      this.closeTimer = null;
      // The peer never answered the close handshake: drop the socket.
      if (this.ws.terminate) this.ws.terminate();
      else this.finish();
    }, this.closeTimeout);
  }

  /** Ends the connection because of bad input from the peer. */
  private reject(code: number, err: NetchanError): void {
    this.error ??= err;
    this.early = [];
    this.shut(code, err.code);
  }

  private readonly onOpen = (): void => {
    const pending = this.pending;
    this.pending = [];
    for (const chunk of pending) this.send(chunk);
    if (this.closing) this.shut(WsCloseCode.Normal, '');
  };

  private readonly onMessage = (event: { data: unknown }): void => {
    if (this.ended || this.error) return;
    const data = event.data;
    let chunk: Uint8Array;
    if (data instanceof ArrayBuffer) chunk = new Uint8Array(data);
    else if (ArrayBuffer.isView(data)) chunk = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      this.reject(
        WsCloseCode.UnsupportedData,
        new NetchanError('EPROTO', `${this.remote} sent a ${typeof data === 'string' ? 'text' : typeof data} WebSocket message; rx-netchan takes binary messages only (closed with 1003)`),
      );
      return;
    }
    const bad = checkMessage(chunk, this.maxFrameBytes);
    if (bad) {
      this.reject(bad.code === 'ETOOBIG' ? WsCloseCode.TooBig : WsCloseCode.ProtocolError, new NetchanError(bad.code, `${this.remote}: ${bad.message}`));
      return;
    }
    if (this.handler) this.handler.onData(chunk);
    else this.early.push(chunk);
  };

  private readonly onError = (event: { error?: unknown; message?: unknown }): void => {
    // Browsers give no detail; ws passes its error with a code.
    const e = event.error;
    if (e instanceof Error) {
      const code = (e as { code?: unknown }).code;
      if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        this.error ??= new NetchanError('ETOOBIG', `${this.remote}: WebSocket message over the limit of ${wsMaxMessageBytes(this.maxFrameBytes)} bytes`, { cause: e });
      } else if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
        this.error ??= new NetchanError('EPROTO', `${this.remote}: ${e.message}`, { cause: e });
      } else {
        this.error ??= e;
      }
    } else {
      this.error ??= new Error(typeof event.message === 'string' && event.message ? event.message : 'WebSocket error');
    }
  };

  private readonly onClose = (event: { code?: number; reason?: string }): void => {
    const code = event.code ?? 1005;
    // 1000/1001 are clean; 1005 (no status) is what a bare close() sends.
    if (!this.error && code !== 1000 && code !== 1001 && code !== 1005 && !this.closing) {
      this.error = new Error(`WebSocket closed with code ${code}${event.reason ? ` (${event.reason})` : ''}`);
    }
    this.finish();
  };

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.closing = true;
    this.pending = [];
    this.early = [];
    this.closeTimer?.unsubscribe();
    this.closeTimer = null;
    const ws = this.ws;
    ws.removeEventListener('open', this.onOpen);
    ws.removeEventListener('message', this.onMessage);
    ws.removeEventListener('error', this.onError);
    ws.removeEventListener('close', this.onClose);
    const h = this.handler;
    this.handler = null;
    h?.onClose(this.error);
  }
}

function readLength(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/**
 * Checks that a message holds whole frames only (each message ends on a frame
 * boundary) and that no declared length is over the limit. Reads only the
 * 4-byte length prefixes.
 */
export function checkMessage(chunk: Uint8Array, maxFrameBytes: number): NetchanError | null {
  let pos = 0;
  const end = chunk.length;
  if (end === 0) return new NetchanError('EPROTO', 'empty WebSocket message');
  while (pos < end) {
    if (end - pos < 4) return new NetchanError('EPROTO', `WebSocket message of ${end} bytes ends inside a frame header at byte ${pos}: a frame may not be split across messages`);
    const length = readLength(chunk, pos);
    if (length > maxFrameBytes) return new NetchanError('ETOOBIG', `frame of ${length} bytes > maxFrameBytes (${maxFrameBytes})`);
    pos += 4 + length;
    if (pos > end) return new NetchanError('EPROTO', `WebSocket message of ${end} bytes ends inside a frame of ${length} bytes: a frame may not be split across messages`);
  }
  return null;
}
