import { Observable, asyncScheduler, type MonoTypeOperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { DrainTimeoutError } from '../errors/DrainTimeoutError.js';
import { trackableOf, type HasTrackable, type Trackable } from '../channel/Trackable.js';

/** Options of {@link drain} and {@link sync}. */
export interface DrainConfig {
  /** Milliseconds after the source completes before erroring with `'ETIMEDOUT'`. `0`/absent: no limit. */
  timeout?: number;
  /** Scheduler for the timeout. Defaults to the target's scheduler, else `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * What {@link drain} and {@link sync} wait on: an `Exporter`, an `Importer`, or a
 * `'send'` channel (`exportChannel(…, 'send')`, `importChannel(…, 'send')`).
 * An import's or an exported `'recv'` channel's Observable is not one: drain the
 * side that sends. Structural, so either copy of the library (ESM or CJS) fits.
 */
export type DrainTarget = HasTrackable;

/**
 * The shared body of drain and sync: pass values through; when the source
 * completes, take a condition from `start` and complete once it holds, checking
 * again at every acknowledgement (no polling).
 * @internal
 */
export function waitForAcks<T>(
  what: 'drain' | 'sync',
  target: DrainTarget,
  config: DrainConfig,
  start: (t: Trackable) => () => boolean,
): MonoTypeOperatorFunction<T> {
  // At once, so a wrong target fails where drain()/sync() is called (JavaScript callers have no type check).
  const t = trackableOf(target, what);
  return (source) =>
    new Observable<T>((subscriber) => {
      let stopListening: (() => void) | null = null;
      let timer: Subscription | null = null;
      const sourceSub = source.subscribe({
        next: (v) => subscriber.next(v),
        error: (e) => subscriber.error(e),
        complete: () => {
          const done = start(t);
          const check = (): boolean => {
            if (done()) {
              subscriber.complete();
              return true;
            }
            const failure = t.failure();
            if (failure) {
              subscriber.error(failure);
              return true;
            }
            return false;
          };
          if (check()) return;
          stopListening = t.progress.listen(check);
          const timeout = config.timeout ?? 0;
          if (timeout > 0 && Number.isFinite(timeout)) {
            const scheduler = config.scheduler ?? t.scheduler ?? asyncScheduler;
            timer = scheduler.schedule(() => subscriber.error(new DrainTimeoutError(what, t.pending(), timeout)), timeout);
          }
        },
      });
      return () => {
        sourceSub.unsubscribe();
        stopListening?.();
        timer?.unsubscribe();
      };
    });
}
