import { asyncScheduler, type SchedulerAction, type SchedulerLike, type Subscription } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import { checkFrames, cutMessages, MAX_MESSAGE_BYTES } from '../protocol/framing.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_HIGH_WATER_MARK, DEFAULT_MAX_FRAME_BYTES } from '../protocol/limits.js';
import type { Connection, ConnectionHandler } from './Connection.js';
import type { TransportOptions } from './registry.js';

/**
 * Most bytes a sender puts into one WebSocket message, unless the message is a
 * single frame. A receiver therefore never needs to accept a message larger
 * than `max(maxFrameBytes + 4, WS_MAX_BATCH_BYTES)`. See docs/PROTOCOL.md, "WebSocket".
 */
export const WS_MAX_BATCH_BYTES = MAX_MESSAGE_BYTES;

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
  /** Any other error on our side (a timeout, say). */
  InternalError: 1011,
} as const;

/** The part of the WHATWG `WebSocket` (browsers, Node 22+, and the `ws` package) that rx-netchan uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  /** Bytes queued by send() and not yet handed to the network. */
  readonly bufferedAmount?: number;
  /** `cb`: `ws` only (browsers ignore it), called once the message is written to the socket. */
  send(data: Uint8Array, cb?: (err?: Error) => void): void;
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
  const highWaterMark = typeof options['highWaterMark'] === 'number' ? options['highWaterMark'] : undefined;
  return new WebSocketConnection(ws, href.replace(/\/$/, ''), { maxFrameBytes, highWaterMark });
}

/** Options of a {@link WebSocketConnection}. */
export interface WebSocketConnectionConfig {
  /** The receiver's frame limit. Defaults to 16 MiB. */
  maxFrameBytes?: number;
  /** How long close() waits for the peer's close handshake, in ms. Defaults to 2,000. */
  closeTimeout?: number;
  /**
   * Bytes buffered for sending (`bufferedAmount`, plus writes queued before the
   * socket opened) at which `write()` starts returning `false`. Defaults to
   * 1 MiB (1,048,576).
   */
  highWaterMark?: number;
  /** Scheduler of the close timer and of the drain check. Defaults to `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/** How often a backed-up connection looks at `bufferedAmount` (browsers have no drain event), in ms. */
const DRAIN_POLL_MS = 10;

/** The WebSocket close code for a connection closed because of `reason`. */
export function wsCloseCodeFor(reason?: NetchanError): number {
  if (reason === undefined) return WsCloseCode.Normal;
  if (reason.code === 'ETOOBIG') return WsCloseCode.TooBig;
  if (reason.code === 'EPROTO') return WsCloseCode.ProtocolError;
  return WsCloseCode.InternalError;
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
 *
 * `write()` returns `false` once `highWaterMark` bytes wait to be sent; `onDrain`
 * follows when they are down to half of it. `ws` reports each sent message (its
 * send callback); in browsers, which have no drain event, `bufferedAmount` is
 * looked at every 10 ms on the connection's scheduler, and only while backed up.
 */
export class WebSocketConnection implements Connection {
  readonly keepalive = true;
  readonly framing = 'message' as const;
  private handler: ConnectionHandler | null = null;
  /** Messages received before start(). */
  private early: Uint8Array[] = [];
  /** Writes made while the socket was still connecting. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private error: Error | undefined;
  /** Why close() was called while connecting (the close code is sent once open). */
  private closeReason: NetchanError | undefined;
  private closeTimer: Subscription | null = null;
  /** 'open': usable (or still connecting); 'closing': close() or a reject began; 'ended': onClose delivered. */
  private state: 'open' | 'closing' | 'ended' = 'open';
  /** A write returned false and onDrain has not been called since. */
  private backedUp = false;
  private drainPoll: Subscription | null = null;
  private readonly maxFrameBytes: number;
  private readonly closeTimeout: number;
  private readonly highWaterMark: number;
  private readonly scheduler: SchedulerLike;

  constructor(
    private readonly ws: WebSocketLike,
    readonly remote: string,
    config: WebSocketConnectionConfig = {},
  ) {
    this.maxFrameBytes = config.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.closeTimeout = config.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT_MS;
    this.highWaterMark = config.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.scheduler = config.scheduler ?? asyncScheduler;
    ws.binaryType = 'arraybuffer';
    // `ws` (Node) can hand over its own Buffer, saving the copy into an ArrayBuffer; the
    // platform WebSocket keeps 'arraybuffer' (browsers ignore the value, undici resets it to 'blob').
    ws.binaryType = 'nodebuffer';
    if (ws.binaryType !== 'nodebuffer') ws.binaryType = 'arraybuffer';
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
      if (this.state === 'ended' || this.handler === null) return;
      handler.onData(chunk);
    }
    if (this.ws.readyState === CLOSED && this.state !== 'ended') this.finish();
  }

  /** Bytes written and not yet handed to the network: the socket's `bufferedAmount` plus writes queued while connecting. */
  get bufferedBytes(): number {
    return (this.ws.bufferedAmount ?? 0) + this.pendingBytes;
  }

  write(chunk: Uint8Array): boolean {
    if (this.state !== 'open') return true;
    const readyState = this.ws.readyState;
    if (readyState === CONNECTING) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    } else if (readyState === OPEN) {
      this.send(chunk);
    } else {
      return true;
    }
    if (this.bufferedBytes < this.highWaterMark) return true;
    if (!this.backedUp) {
      this.backedUp = true;
      const conn = this;
      this.drainPoll = this.scheduler.schedule(function (this: SchedulerAction<undefined>) {
        if (!conn.checkDrain() && conn.backedUp) this.schedule(undefined, DRAIN_POLL_MS);
      }, DRAIN_POLL_MS);
    }
    return false;
  }

  /**
   * Nothing to do: each write is sent at once. Its presence tells the protocol
   * this is a real-time transport, on which acknowledgements may wait for the
   * end of the turn to travel with the values sent in it (one message).
   */
  flush(): void {}

  close(reason?: NetchanError): void {
    if (this.state !== 'open') return;
    this.state = 'closing';
    // Still connecting: the queued frames (HELLO, BYE) go out once open, then we close.
    if (this.ws.readyState === CONNECTING && this.pending.length > 0) {
      this.closeReason = reason;
      return;
    }
    this.shut(wsCloseCodeFor(reason), reason?.code ?? '');
  }

  /** Drops the socket now (`ws`: terminate), without a close handshake; what is unsent is lost. */
  destroy(error?: Error): void {
    if (this.state === 'ended') return;
    if (error) this.error ??= error;
    this.state = 'closing';
    this.clearPending();
    if (this.ws.terminate) {
      this.ws.terminate(); // the close event follows
      return;
    }
    try {
      this.ws.close(WsCloseCode.InternalError, error instanceof NetchanError ? error.code : '');
    } catch {
      // A browser socket still connecting may throw; it is dropped all the same.
    }
    this.finish();
  }

  /** The socket, for tests and metrics. */
  get raw(): WebSocketLike {
    return this.ws;
  }

  /** Sends whole frames as one or more messages of at most WS_MAX_BATCH_BYTES. */
  private send(chunk: Uint8Array): void {
    const ws = this.ws;
    // `ws` calls back once a message is on the socket: while backed up, that is the drain signal.
    // (Browsers ignore the extra argument; the poll covers them.)
    const cb = this.backedUp || this.bufferedBytes + chunk.length >= this.highWaterMark ? this.onSent : undefined;
    if (chunk.length <= WS_MAX_BATCH_BYTES) {
      if (cb) ws.send(chunk, cb);
      else ws.send(chunk);
      return;
    }
    for (const m of cutMessages(chunk, WS_MAX_BATCH_BYTES)) {
      if (cb) ws.send(m, cb);
      else ws.send(m);
    }
  }

  /** Calls onDrain once the send buffer is down to half the high-water mark; true if it did. */
  private checkDrain(): boolean {
    if (!this.backedUp || this.state !== 'open') return false;
    if (this.bufferedBytes > this.highWaterMark / 2) return false;
    this.backedUp = false;
    this.drainPoll?.unsubscribe();
    this.drainPoll = null;
    this.handler?.onDrain?.();
    return true;
  }

  private readonly onSent = (): void => {
    this.checkDrain();
  };

  private clearPending(): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.backedUp = false;
    this.drainPoll?.unsubscribe();
    this.drainPoll = null;
  }

  private shut(code: number, reason: string): void {
    this.state = 'closing';
    this.clearPending();
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
    this.pendingBytes = 0;
    for (const chunk of pending) this.send(chunk);
    if (this.state === 'closing') this.shut(wsCloseCodeFor(this.closeReason), this.closeReason?.code ?? '');
    else this.checkDrain();
  };

  private readonly onMessage = (event: { data: unknown }): void => {
    if (this.state === 'ended' || this.error) return;
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
    if (!this.error && code !== 1000 && code !== 1001 && code !== 1005 && this.state === 'open') {
      this.error = new Error(`WebSocket closed with code ${code}${event.reason ? ` (${event.reason})` : ''}`);
    }
    this.finish();
  };

  private finish(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.clearPending();
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

/**
 * Checks that a message holds whole frames only (each message ends on a frame
 * boundary) and that no declared length is over the limit. Reads only the
 * 4-byte length prefixes. Same as {@link checkFrames}.
 */
export function checkMessage(chunk: Uint8Array, maxFrameBytes: number): NetchanError | null {
  return checkFrames(chunk, maxFrameBytes);
}
