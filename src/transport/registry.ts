import { NetchanError } from '../errors/NetchanError.js';
import type { Connection } from './Connection.js';
import { dialWebSocket } from './websocket.js';

/** A running listener started by `exporter.listen()`. */
export interface Listener {
  /** The bound URL, with the real port. */
  readonly url: string;
  /** Stops accepting; resolves once the server is closed. */
  close(): Promise<void>;
}

/** Options a transport receives from the Exporter/Importer that uses it. */
export interface TransportOptions {
  /** Frame limit, for transports that enforce message sizes themselves. */
  maxFrameBytes: number;
  /**
   * Bytes a connection buffers for sending before `write()` returns `false`.
   * Defaults to 1 MiB (`DEFAULT_HIGH_WATER_MARK`).
   */
  highWaterMark?: number;
  /** Transport-specific extras (TLS options, an http.Server to attach to, …). */
  [key: string]: unknown;
}

export type ListenFn = (url: URL, accept: (conn: Connection) => void, options: TransportOptions) => Promise<Listener>;
export type DialFn = (url: URL, options: TransportOptions) => Connection;

interface Registry {
  listen: Map<string, ListenFn>;
  dial: Map<string, DialFn>;
}

// On globalThis so the ESM and CJS builds, if both are loaded, share one registry.
const KEY = Symbol.for('rx-netchan.transports');
function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  // The WebSocket client is built in rather than registered by src/index.ts: the
  // package is marked side-effect free, so a bundler could drop such a call.
  return (g[KEY] ??= { listen: new Map(), dial: new Map([['ws:', dialWebSocket], ['wss:', dialWebSocket]]) });
}

/**
 * Makes a URL scheme usable with `exporter.listen()` and `Importer.connect()`.
 * `rx-netchan/node` registers `tcp:`, `tls:` and the `ws:` server; the root entry
 * registers the `ws:`/`wss:` client.
 */
export function registerTransport(scheme: string, fns: { listen?: ListenFn; dial?: DialFn }): void {
  const r = registry();
  const s = scheme.endsWith(':') ? scheme : `${scheme}:`;
  if (fns.listen) r.listen.set(s, fns.listen);
  if (fns.dial) r.dial.set(s, fns.dial);
}

const HINT = "; for tcp:, tls: and ws: servers on Node, import 'rx-netchan/node' once";

export function listenerFor(url: URL): ListenFn {
  const fn = registry().listen.get(url.protocol);
  if (!fn) throw new NetchanError('EPROTO', `no listener for ${url.protocol} URLs${HINT}`);
  return fn;
}

export function dialerFor(url: URL): DialFn {
  const fn = registry().dial.get(url.protocol);
  if (!fn) throw new NetchanError('EPROTO', `no transport for ${url.protocol} URLs${HINT}`);
  return fn;
}

export function parseUrl(url: string): URL {
  try {
    return new URL(url);
  } catch (e) {
    throw new NetchanError('EPROTO', `invalid URL: ${url}`, { cause: e });
  }
}
