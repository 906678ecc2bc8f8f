import { Observable } from 'rxjs';
import type { SendChannel } from '../channel/SendChannel.js';

/** Options of {@link feed}. */
export interface FeedConfig {
  /** Complete the channel when the source is exhausted. Defaults to `false`. */
  complete?: boolean;
}

/**
 * Pulls values from `source` into `channel` only as fast as the channel can take
 * them: while its queue has room it pulls and sends; when the queue is full it
 * waits for room (no polling, no buffering). Emits how many values have been fed
 * each time it pauses and at the end, then completes when `source` is exhausted.
 * Unsubscribing stops pulling (and calls the iterator's `return()`).
 *
 * ```
 * source (pulled):  0 1 2 3 … 1023 | wait for room | 1024 …
 * feed():           --------------1024-------------…-N|
 * ```
 *
 * ## Example
 * ```ts
 * function* numbers() { for (let i = 0; i < 1_000_000; i++) yield i; }
 * feed(jobs, numbers(), { complete: true }).pipe(drain(jobs)).subscribe();
 * ```
 * @param channel A `'send'` channel from exportChannel or importChannel.
 * @param source A (sync or async) iterable.
 */
export function feed<T>(channel: SendChannel<T>, source: Iterable<T> | AsyncIterable<T>, config: FeedConfig = {}): Observable<number> {
  return new Observable<number>((subscriber) => {
    const sync = Symbol.iterator in source;
    const it = sync ? (source as Iterable<T>)[Symbol.iterator]() : (source as AsyncIterable<T>)[Symbol.asyncIterator]();
    let fed = 0;
    let waiting: (() => void) | null = null;
    let busy = false;
    let done = false;

    const finish = () => {
      done = true;
      subscriber.next(fed);
      if (config.complete) channel.complete();
      subscriber.complete();
    };
    const wait = () => {
      subscriber.next(fed);
      waiting = channel.dispatcher.room.listen(() => {
        if (channel.capacity > 0 && !busy) {
          waiting?.();
          waiting = null;
          pump();
        }
      });
    };
    /** True if another value may be pulled now; otherwise finishes or waits for room. */
    const ready = (): boolean => {
      if (subscriber.closed) return false;
      if (channel.isStopped) return finish(), false;
      if (channel.capacity === 0) return wait(), false;
      return true;
    };
    /** Sends one pulled value; false at the end of the source. */
    const take = (r: IteratorResult<T>): boolean => {
      if (r.done) return finish(), false;
      channel.next(r.value);
      fed++;
      return true;
    };
    // Sync iterables are pulled synchronously (so feed runs in virtual time);
    // async ones one awaited value at a time.
    const pump = (): void => {
      if (!sync) return void pumpAsync();
      busy = true;
      try {
        while (ready() && take((it as Iterator<T>).next()));
      } catch (e) {
        subscriber.error(e);
      } finally {
        busy = false;
      }
    };
    const pumpAsync = async (): Promise<void> => {
      busy = true;
      try {
        while (ready()) {
          const r = await (it as AsyncIterator<T>).next();
          if (subscriber.closed || !take(r)) return;
        }
      } catch (e) {
        subscriber.error(e);
      } finally {
        busy = false;
      }
    };
    pump();
    return () => {
      waiting?.();
      waiting = null;
      if (!done) void it.return?.();
    };
  });
}
