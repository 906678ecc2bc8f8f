import type { MonoTypeOperatorFunction } from 'rxjs';
import { syncReached } from '../channel/Dispatcher.js';
import { waitForAcks, type DrainConfig, type DrainTarget } from './waitForAcks.js';

/**
 * Passes values through and holds back the source's completion until every
 * receiver that existed when the source completed has acknowledged every value
 * sent to it up to that moment. Unlike {@link drain} it does not wait for values
 * still queued for no receiver, nor for values sent later (Go's Sync, except that
 * ours really waits: Go's returned at once).
 *
 * ```
 * source:  --a--|
 * acks:    --------1   (ack for a)
 * result:  --a-----|
 * ```
 *
 * ## Example
 * ```ts
 * exporter.sync(1_000).subscribe({ complete: () => console.log('receivers caught up') });
 * ```
 * @param target An Exporter, an Importer, or a `'send'` channel.
 * @param config `timeout` (ms, from the source's completion) → NetchanError `'ETIMEDOUT'`.
 * @throws NetchanError `'EINVAL'` at once when `target` is none of those (an import's Observable, say).
 * @see drain
 */
export function sync<T>(target: DrainTarget, config: DrainConfig = {}): MonoTypeOperatorFunction<T> {
  return waitForAcks<T>('sync', target, config, (t) => {
    const point = t.syncPoint();
    return () => syncReached(point);
  });
}
