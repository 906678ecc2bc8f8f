import { NetchanError } from '../errors/NetchanError.js';
import type { Connection } from './Connection.js';
import { dialWebSocket } from './websocket.js';

/** A running listener started by `exporter.listen()`. */
export interface Listener {
  /** The bound URL, with the real port. */
  readonly url: string;
  /** Stops accepting; resolves once the server is closed. */
  close(): Promise<void>;
  /**
   * Stops accepting new connections at once; the open ones go on (`close()`
   * still ends them). Optional: without it, `exporter.stopListening()` closes
   * the listener.
   */
  stop?(): void;
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

/** Schemes that `rx-netchan/node` registers, by role: hint at it only for these. */
const NODE_SCHEMES = { listen: ['tcp:', 'tls:', 'ws:', 'wss:'], dial: ['tcp:', 'tls:'] } as const;

function unknownScheme(url: URL, role: 'listen' | 'dial'): NetchanError {
  const scheme = url.protocol;
  const known = [...registry()[role].keys()].join(', ') || 'none';
  const what = role === 'listen' ? 'no listener' : 'no transport';
  if ((NODE_SCHEMES[role] as readonly string[]).includes(scheme)) {
    return new NetchanError('EINVAL', `${what} for ${scheme} URLs here: on Node, import 'rx-netchan/node' once (it registers tcp:, tls: and the ws: server)`);
  }
  return new NetchanError('EINVAL', `${what} for ${scheme} URLs; registered here: ${known}. registerTransport() adds a scheme`);
}

/** The listen function for `url`'s scheme. @throws NetchanError `'EINVAL'` when none is registered. */
export function listenerFor(url: URL): ListenFn {
  const fn = registry().listen.get(url.protocol);
  if (!fn) throw unknownScheme(url, 'listen');
  return fn;
}

/** The dial function for `url`'s scheme. @throws NetchanError `'EINVAL'` when none is registered. */
export function dialerFor(url: URL): DialFn {
  const fn = registry().dial.get(url.protocol);
  if (!fn) throw unknownScheme(url, 'dial');
  return fn;
}

const hasAuthority = /^[a-z][a-z\d+.-]*:\/\//i;

/**
 * Parses an endpoint URL. `localhost:4000` parses as scheme `localhost:`, so a
 * URL without `//` whose scheme nobody registered is taken for a missing scheme.
 * @throws NetchanError `'EINVAL'` for an invalid URL or one without a scheme.
 */
export function parseUrl(url: string): URL {
  let parsed: URL | undefined;
  let invalid: unknown;
  try {
    parsed = new URL(url);
  } catch (e) {
    // Reported below: "127.0.0.1:4000" and ":4000" do not parse at all.
    invalid = e;
  }
  if (!hasAuthority.test(url)) {
    const r = registry();
    if (parsed === undefined || (!r.dial.has(parsed.protocol) && !r.listen.has(parsed.protocol))) {
      const hostPort = url.replace(/^\/\//, '');
      throw new NetchanError('EINVAL', `URL "${url}" has no scheme: write "tcp://${hostPort}" (or tls://, ws://, wss://)`);
    }
  }
  if (parsed === undefined) throw new NetchanError('EINVAL', `invalid URL: ${url}`, { cause: invalid });
  return parsed;
}
