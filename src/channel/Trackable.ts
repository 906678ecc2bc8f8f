import type { SchedulerLike } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import type { Signal } from '../util/Signal.js';
import type { SyncPoint } from './Dispatcher.js';

/**
 * What drain/sync watch: a count of unacknowledged values, a way to snapshot
 * each receiver's position, and a signal when either may have changed. Exporter,
 * Importer and the send channels provide one under {@link TRACK}.
 */
export interface Trackable {
  readonly progress: Signal;
  pending(): number;
  syncPoint(): SyncPoint;
  /** For messages: `exporter`, `channel "jobs"`, … */
  readonly label: string;
  /** The owner's timer scheduler (drain/sync timeouts default to it). */
  readonly scheduler?: SchedulerLike;
  /** Set once the values pending can no longer be acknowledged (closed connection or endpoint). */
  failure(): Error | null;
  /** Set when the target itself failed (a channel refused with 'ENOCHAN', say): drain and sync error even with nothing pending. */
  broken?(): Error | null;
}

/** Shared across ESM/CJS copies of the library, so either copy's drain works on either's channels. */
export const TRACK: unique symbol = Symbol.for('rx-netchan.track') as never;

export interface HasTrackable {
  [TRACK](): Trackable;
}

/** @throws NetchanError `'EINVAL'` when `target` is not an Exporter, an Importer or a send channel. */
export function trackableOf(target: unknown, what = 'drain/sync'): Trackable {
  const fn = (target as Partial<HasTrackable> | null)?.[TRACK];
  if (typeof fn !== 'function') {
    throw new NetchanError('EINVAL', `${what}: the target must be an Exporter, an Importer, or a 'send' channel from exportChannel/importChannel; got ${describeTarget(target)}`);
  }
  return fn.call(target);
}

function describeTarget(target: unknown): string {
  if (target === null || target === undefined) return String(target);
  if (typeof target !== 'object') return `a ${typeof target}`;
  if (typeof (target as { subscribe?: unknown }).subscribe === 'function') return "an Observable ('recv' channels and imports cannot be drained: drain the side that sends)";
  const name = (target as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? `a ${name}` : 'an object';
}
