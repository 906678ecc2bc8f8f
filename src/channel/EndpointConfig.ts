import { asapScheduler, asyncScheduler, type SchedulerLike } from 'rxjs';
import {
  DEFAULT_KEEPALIVE_MS,
  DEFAULT_MAX_FRAME_BYTES,
} from '../protocol/limits.js';
import type { ValueExtension } from '../protocol/valueExtensions.js';
import type { SessionSettings } from './Session.js';

/** Options shared by Exporter and Importer. */
export interface EndpointConfig {
  /** Largest frame accepted or sent, in bytes. Defaults to 16 MiB (16,777,216). */
  maxFrameBytes?: number;
  /**
   * Keepalive interval in ms on network transports (TCP, TLS, WebSocket): a PING
   * goes out after this long without input, and the connection is closed with
   * `'ECLOSED'` after twice as long. `0` turns it off. Defaults to 15,000.
   */
  keepalive?: number;
  /** Scheduler for every timer (keepalive, timeouts). Defaults to `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /**
   * Scheduler for the per-tick write flush. Defaults to `asapScheduler` (the end of
   * the current task). Both are virtualized inside `TestScheduler.run()`.
   */
  flushScheduler?: SchedulerLike;
  /**
   * MessagePack extensions for values of your own types, tried before the
   * built-in ones (`Map`, `Set`, `BigInt`, `Error`, `Date`). Types 0 to 0x6f
   * (0x70–0x7f are rx-netchan's; another throws `'EINVAL'`). Both sides of a
   * connection must register the same extensions. Defaults to none. See the
   * README, "What crosses the wire".
   */
  extensions?: readonly ValueExtension[];
}

export function sessionSettings(config: EndpointConfig): SessionSettings {
  return {
    maxFrameBytes: config.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
    keepaliveMs: config.keepalive ?? DEFAULT_KEEPALIVE_MS,
    scheduler: config.scheduler ?? asyncScheduler,
    flushScheduler: config.flushScheduler ?? config.scheduler ?? asapScheduler,
  };
}
