import type { MonoTypeOperatorFunction } from 'rxjs';
import { waitForAcks, type DrainConfig, type DrainTarget } from './waitForAcks.js';

/**
 * Passes values through and holds back the source's completion until every
 * value sent through `target` has been acknowledged by a receiver, including
 * values still queued for no receiver and values sent while waiting (Go's Drain).
 * With nothing pending it completes in the same tick.
 *
 * ```
 * source:  --a--b--|
 * acks:    ----------1----2     (last ack arrives at frame 15)
 * result:  --a--b---------|
 * ```
 *
 * ## Example
 * ```ts
 * from([1, 2, 3]).pipe(tap((v) => jobs.next(v)), drain(jobs, { timeout: 5_000 }))
 *   .subscribe({ complete: () => console.log('all 3 acknowledged') });
 * ```
 * @param target An Exporter, an Importer, or a `'send'` channel from exportChannel/importChannel.
 * @param config `timeout` (ms, from the source's completion) → NetchanError `'ETIMEDOUT'`.
 * @throws NetchanError `'EINVAL'` at once when `target` is none of those (an import's Observable, say).
 * @see sync
 */
export function drain<T>(target: DrainTarget, config: DrainConfig = {}): MonoTypeOperatorFunction<T> {
  return waitForAcks<T>('drain', target, config, (t) => () => t.pending() === 0);
}
