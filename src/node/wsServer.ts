import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { asyncScheduler } from 'rxjs';
import { WebSocketServer, type WebSocket } from 'ws';
import { NetchanError } from '../errors/NetchanError.js';
import { DEFAULT_CLOSE_TIMEOUT_MS, DEFAULT_MAX_FRAME_BYTES } from '../protocol/limits.js';
import type { Connection } from '../transport/Connection.js';
import type { Listener, TransportOptions } from '../transport/registry.js';
import { WebSocketConnection, wsMaxMessageBytes, type WebSocketLike } from '../transport/websocket.js';
import { addRoute, rejectUpgrade, removeRoute, type UpgradeHandler } from './wsRouter.js';

/** Who asks to connect: the argument of {@link WsServerOptions.verifyClient}. */
export interface WsClientInfo {
  /** The `Origin` header. */
  origin: string;
  /** True over TLS (`wss://`). */
  secure: boolean;
  /** The upgrade request. */
  req: IncomingMessage;
}

/**
 * Options of the `ws` package's `WebSocketServer` that a `ws://` listener passes
 * on (see the `ws` documentation). Declared here, so the published types need
 * no `@types/ws`; the compiler checks them against `ws`'s own when rx-netchan is built.
 */
export interface WsServerOptions {
  /**
   * Accepts or refuses a handshake: return `true`/`false` (a function of one
   * parameter), or call `callback` (a function of two, for an asynchronous
   * check; `ws` tells them apart by their length). Defaults to accepting every one.
   */
  verifyClient?: (info: WsClientInfo, callback: (accept: boolean, code?: number, message?: string, headers?: OutgoingHttpHeaders) => void) => boolean | void;
  /** Picks a subprotocol from those the client offers, or `false`. Defaults to the first one. */
  handleProtocols?: (protocols: Set<string>, request: IncomingMessage) => string | false;
  /** permessage-deflate compression: `true`, or its settings. Defaults to off. */
  perMessageDeflate?:
    | boolean
    | {
        serverNoContextTakeover?: boolean;
        clientNoContextTakeover?: boolean;
        serverMaxWindowBits?: number;
        clientMaxWindowBits?: number;
        threshold?: number;
        concurrencyLimit?: number;
      };
  /** Largest message accepted, in bytes. Defaults to the frame limit plus 4 (at least 1 MiB). */
  maxPayload?: number;
  /** Skip UTF-8 validation of text messages (rx-netchan refuses text anyway). Defaults to false. */
  skipUTF8Validation?: boolean;
  /** Emit several message events in one tick. Defaults to `ws`'s default. */
  allowSynchronousEvents?: boolean;
  /** Answer pings automatically. Defaults to true. */
  autoPong?: boolean;
}

/**
 * Transport options of a `ws://` (or `wss://`) listener: the Exporter's
 * `transport` option. For a `wss://` listener with a server of its own, every
 * `https.createServer()` option (`key`, `cert`, `ca`, `requestCert`, …) may be
 * given at the top level, as for `tls://`, or in `tls`.
 */
export interface WsListenConfig extends HttpsServerOptions {
  /**
   * An http or https server to attach to, so WebSocket shares a port with your
   * web app. Upgrades for the URL's path are served; other paths get 404 unless
   * the server has other 'upgrade' listeners. If the server is not listening
   * yet, `listen()` starts it on the URL's host and port. The server stays
   * yours: `exporter.close()` closes the WebSockets it accepted, never the server.
   * Defaults to a new server of our own, closed by `exporter.close()`.
   */
  server?: HttpServer;
  /** Extra `ws` WebSocketServer options (`verifyClient`, `handleProtocols`, `perMessageDeflate`, …). */
  wsOptions?: WsServerOptions;
  /** `https.createServer()` options for a `wss://` listener with a server of its own; they win over the same keys at the top level. */
  tls?: HttpsServerOptions;
  /** How long to wait for a peer's close handshake before dropping its socket, in ms. Defaults to 2,000. */
  closeTimeout?: number;
}

/** TLS options for a `wss://` server of our own: every top-level key but ours (as for `tls://`), then `tls`. */
function tlsOptions(config: TransportOptions & WsListenConfig): HttpsServerOptions {
  const { server: _server, wsOptions: _ws, tls, closeTimeout: _close, maxFrameBytes: _max, ...top } = config;
  return { ...(top as HttpsServerOptions), ...tls };
}

function remoteOf(scheme: string, s: Socket): string {
  const host = s.remoteAddress?.includes(':') ? `[${s.remoteAddress}]` : s.remoteAddress;
  return `${scheme}//${host ?? '?'}:${s.remotePort ?? '?'}`;
}

function upgradeRequired(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket', Connection: 'Upgrade' });
  res.end('rx-netchan WebSocket endpoint: connect with a WebSocket client\n');
}

/**
 * Accepts WebSocket importers at `ws://host:port/path` (port 0: any free port),
 * on a server of its own or on `options.server`. Each binary message carries
 * whole frames (see docs/PROTOCOL.md, "WebSocket"); a text message closes that
 * connection with 1003 and `'EPROTO'`.
 *
 * ## Example
 * ```ts
 * import { Exporter, exportChannel } from 'rx-netchan';
 * import 'rx-netchan/node';
 *
 * const exporter = new Exporter({ transport: { server: httpServer } });
 * const { url } = await exporter.listen('ws://127.0.0.1:8080/netchan');
 * ```
 */
export async function listenWebSocket(url: URL, accept: (conn: Connection) => void, options: TransportOptions): Promise<Listener> {
  const config = options as TransportOptions & WsListenConfig;
  const scheme = url.protocol;
  const path = url.pathname || '/';
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const closeTimeout = config.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT_MS;
  const highWaterMark = typeof options['highWaterMark'] === 'number' ? options['highWaterMark'] : undefined;
  const own = config.server === undefined;
  const server: HttpServer =
    config.server ?? (scheme === 'wss:' ? (createHttpsServer(tlsOptions(config), upgradeRequired) as unknown as HttpServer) : createServer(upgradeRequired));
  const wss = new WebSocketServer({ maxPayload: wsMaxMessageBytes(maxFrameBytes), ...config.wsOptions, noServer: true });
  let closed = false;

  const handler: UpgradeHandler = (req, socket, head) => {
    if (closed) return rejectUpgrade(socket, 503, 'Service Unavailable', 'rx-netchan exporter is closing');
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (closed) {
        ws.terminate();
        return;
      }
      accept(new WebSocketConnection(ws as unknown as WebSocketLike, remoteOf(scheme, req.socket), { maxFrameBytes, closeTimeout, highWaterMark }));
    });
  };
  if (!addRoute(server, path, handler)) {
    wss.close();
    throw new NetchanError('EEXIST', `a WebSocket endpoint is already served at ${path} on this server`);
  }

  if (!server.listening) {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
    const port = url.port === '' ? 0 : Number(url.port);
    try {
      await new Promise<void>((resolve, reject) => {
        const onError = (e: Error) => reject(new NetchanError('ECLOSED', `cannot listen on ${scheme}//${host}:${port}${path}: ${e.message}`, { cause: e }));
        server.once('error', onError);
        server.listen(port, host, () => {
          server.off('error', onError);
          resolve();
        });
      });
    } catch (e) {
      removeRoute(server, path, handler);
      wss.close();
      throw e;
    }
  }
  const addr = server.address() as AddressInfo;
  const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  let closing: Promise<void> | null = null;

  return {
    url: `${scheme}//${h}:${addr.port}${path}`,
    stop: () => {
      // New upgrades at this path are refused (503, or 404 once the route is gone); open sockets go on.
      closed = true;
      removeRoute(server, path, handler);
      if (own && server.listening) server.close();
    },
    close: () =>
      (closing ??= (async () => {
        closed = true;
        removeRoute(server, path, handler);
        // Sessions close their sockets (BYE, then a 1000 close); wait for that, and drop stragglers.
        await Promise.all([...wss.clients].map((ws) => closeSocket(ws, closeTimeout)));
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        if (own) {
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
        }
      })()),
  };
}

/** Resolves when `ws` has closed: closes it with 1001 and terminates it after `timeout` ms. */
function closeSocket(ws: WebSocket, timeout: number): Promise<void> {
  if (ws.readyState === ws.CLOSED) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = asyncScheduler.schedule(() => ws.terminate(), timeout + 100);
    ws.once('close', () => {
      timer.unsubscribe();
      resolve();
    });
    if (ws.readyState === ws.OPEN) ws.close(1001, 'exporter closed');
  });
}
