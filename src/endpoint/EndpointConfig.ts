import { asapScheduler, asyncScheduler, type SchedulerLike } from 'rxjs';
import type { LinkSettings } from '../link/Link.js';
import type { Logger } from '../observe/Logger.js';
import type { ValueCodecConfig } from '../protocol/codec.js';
import type { ValueExtension } from '../protocol/valueExtensions.js';
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_KEEPALIVE_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_HELD_BYTES,
  DEFAULT_WRITE_TIMEOUT_MS,
} from '../protocol/limits.js';

/** Options shared by Exporter and Importer. */
export interface EndpointConfig {
  /** Largest frame accepted or sent, in bytes. Defaults to 16 MiB (16,777,216). */
  maxFrameBytes?: number;
  /**
   * Keepalive interval in ms on network transports (TCP, TLS, WebSocket): a PING
   * goes out once nothing has arrived for this long, and the connection is
   * dropped with `'ECLOSED'` when that PING is unanswered as long again (so a dead
   * peer is noticed within twice the interval). `0` turns it off. Defaults to 15,000.
   */
  keepalive?: number;
  /**
   * Ms a new connection has to complete the handshake (the peer's HELLO) before
   * it is closed with `'ETIMEDOUT'`. `0` disables it. Defaults to 10,000.
   */
  handshakeTimeout?: number;
  /**
   * Ms a peer may leave our writes unread while we have data for it (the socket's
   * send buffer stays over its high-water mark) before the connection is closed
   * with `'ETIMEDOUT'`. `0` disables it. Defaults to 20,000.
   */
  writeTimeout?: number;
  /**
   * Most bytes of received values held for a subscriber that has not come yet
   * (an exported `'recv'` channel nobody subscribes to), across the endpoint. A
   * binding whose value would go past it fails with `'EOVERFLOW'`; its sender
   * keeps the value. Defaults to 64 MiB.
   */
  maxHeldBytes?: number;
  /**
   * Deepest nesting of arrays and maps one received value may have. Checked
   * before decoding, so no frame can make the decoder recurse past it. Values
   * this side sends are held to the same limit. Defaults to 100 (what
   * `@msgpack/msgpack`'s encoder accepts).
   */
  maxDepth?: number;
  /**
   * Most items (array elements, map keys and map values, counted through the
   * whole value) one received value may have: the cost of decoding one value is
   * bounded by it (about 50 ms in the worst case at the default). Defaults to 32,768.
   */
  maxElements?: number;
  /**
   * Bytes a connection may buffer for sending before the transport reports
   * backpressure (the link then stops writing values until it drains). Defaults to 1 MiB.
   */
  highWaterMark?: number;
  /**
   * MessagePack extensions for values of your own types, tried before the
   * built-in ones (`Map`, `Set`, `BigInt`, `Error`, `Date`). Types 0 to 0x6f
   * (0x70–0x7f are rx-netchan's; another throws `'EINVAL'`). Both sides of a
   * connection must register the same extensions. Defaults to none. See the
   * README, "What crosses the wire".
   */
  extensions?: readonly ValueExtension[];
  /**
   * A pino-shaped logger (`child()`, `error`/`warn`/`info`/`debug` taking
   * `(fields, message)`): connections, handshakes, refusals, disconnects and
   * errors at `info`/`warn`, bindings at `debug`, one `child({ client, remote })`
   * per client. Defaults to silent.
   */
  logger?: Logger;
  /** Scheduler for every timer (keepalive, timeouts, reconnect). Defaults to `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /**
   * Scheduler for the per-tick write flush. Defaults to `asapScheduler` (the end of
   * the current task). Both are virtualized inside `TestScheduler.run()`.
   */
  flushScheduler?: SchedulerLike;
}

export function linkSettings(config: EndpointConfig): LinkSettings {
  return {
    maxFrameBytes: config.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    keepaliveMs: config.keepalive ?? DEFAULT_KEEPALIVE_MS,
    handshakeTimeoutMs: config.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    writeTimeoutMs: config.writeTimeout ?? DEFAULT_WRITE_TIMEOUT_MS,
    scheduler: config.scheduler ?? asyncScheduler,
    flushScheduler: config.flushScheduler ?? config.scheduler ?? asapScheduler,
  };
}

/** The value codec's limits, from the endpoint's options. */
export function codecConfig(config: EndpointConfig): ValueCodecConfig {
  const c: ValueCodecConfig = { maxFrameBytes: config.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES };
  if (config.maxDepth !== undefined) c.maxDepth = config.maxDepth;
  if (config.maxElements !== undefined) c.maxElements = config.maxElements;
  if (config.extensions !== undefined) c.extensions = config.extensions;
  return c;
}

/** What the transport is told when listening or dialing. */
export function transportOptions(config: EndpointConfig & { transport?: Record<string, unknown> }): Record<string, unknown> & { maxFrameBytes: number } {
  return {
    maxFrameBytes: config.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    ...(config.highWaterMark !== undefined ? { highWaterMark: config.highWaterMark } : {}),
    ...config.transport,
  };
}

export function heldBudget(config: EndpointConfig): { used: number; max: number } {
  return { used: 0, max: config.maxHeldBytes ?? DEFAULT_MAX_HELD_BYTES };
}

/** A random id (hex): session ids, resume tokens, exporter instances. */
export function randomId(bytes = 16): string {
  const b = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(b);
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
