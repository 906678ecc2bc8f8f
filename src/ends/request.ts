import { Observable, from, isObservable, type ObservableInput } from 'rxjs';
import type { SendChannel } from '../channel/SendChannel.js';
import { channelPair, type ChannelPairConfig } from './channelPair.js';

/** A request as it travels: the query's fields plus the end to answer on. */
export type Request<Q, R> = Q & { readonly replyTo: SendChannel<R> };

/**
 * Request/reply in one call: sends `query` on `channel` together with a fresh
 * `replyTo` end and returns the Observable of the answer. Cold: each
 * subscription sends one request. The answer may be one value or a stream;
 * the Observable completes when the server completes `replyTo`, and errors
 * with the server's error (or `'ECLOSED'` if the connection ends for good
 * first). Unsubscribing releases the reply end (the server's `replyTo.next()`
 * then throws `'ECLOSED'`).
 *
 * ```
 * request(jobs, { n: 7 }):  ----49|      (one round trip, plus the handler's time)
 * ```
 *
 * ## Example
 * ```ts
 * const jobs = importChannel<Request<{ n: number }, number>>(importer, 'jobs', 'send');
 * request(jobs, { n: 7 }).subscribe((r) => console.log(r)); // 49
 * // on the server:
 * exportChannel<Request<{ n: number }, number>>(exporter, 'jobs', 'recv')
 *   .pipe(respond(({ n }) => n * n))
 *   .subscribe();
 * ```
 * @param config Options of the reply end (`size`, `ack`, …).
 */
export function request<Q extends object, R>(channel: SendChannel<Request<Q, R>>, query: Q, config: ChannelPairConfig = {}): Observable<R> {
  return new Observable<R>((subscriber) => {
    const [replies, replyTo] = channelPair<R>({ name: `reply to ${channel.name}`, ...config, ack: 'auto' });
    const sub = replies.subscribe(subscriber);
    try {
      channel.next({ ...query, replyTo } as Request<Q, R>);
    } catch (e) {
      sub.unsubscribe();
      subscriber.error(e);
    }
    return sub;
  });
}

/**
 * Serves requests: for each `{ …query, replyTo }`, runs `handler(query)` and
 * sends what it returns (a value, a Promise, or an Observable of any number of
 * values) on `replyTo`, then completes it; an error goes to `replyTo.error()`.
 * Requests run concurrently, at most `concurrency` at a time (default
 * unbounded: the request channel's window bounds them).
 *
 * ## Example
 * ```ts
 * requests$.pipe(respond(({ n }) => of(n, n * n))).subscribe(); // two replies each
 * ```
 */
export function respond<Q extends object, R>(
  handler: (query: Q) => R | PromiseLike<R> | Observable<R>,
  concurrency = Infinity,
): (source: Observable<Request<Q, R>>) => Observable<void> {
  return (source) =>
    new Observable<void>((subscriber) => {
      let active = 0;
      const waiting: Array<Request<Q, R>> = [];
      let sourceDone = false;
      const replies = new Set<{ unsubscribe(): void }>();
      const start = (req: Request<Q, R>): void => {
        active++;
        const { replyTo, ...query } = req as Request<Q, R> & Record<string, unknown>;
        let out: Observable<R>;
        try {
          const r = handler(query as unknown as Q);
          out = isObservable(r) ? r : from(Promise.resolve(r as ObservableInput<R>) as Promise<R>);
        } catch (e) {
          replyTo.error(e);
          return finish();
        }
        // `sub` is unset while a synchronous source (of(…)) runs inside subscribe(): `over` says it already finished.
        let sub: { unsubscribe(): void } | undefined;
        let over = false;
        const settle = (): void => {
          over = true;
          if (sub) replies.delete(sub);
          finish();
        };
        sub = out.subscribe({
          next: (v) => {
            if (over) return;
            try {
              replyTo.next(v);
            } catch {
              sub?.unsubscribe(); // the requester let go: stop working for it
              settle();
            }
          },
          error: (e) => {
            if (over) return;
            replyTo.error(e);
            settle();
          },
          complete: () => {
            if (over) return;
            replyTo.complete();
            settle();
          },
        });
        if (over) sub.unsubscribe();
        else replies.add(sub);
      };
      const finish = (): void => {
        active--;
        const next = waiting.shift();
        if (next) start(next);
        else if (sourceDone && active === 0) subscriber.complete();
      };
      const sub = source.subscribe({
        next: (req) => (active < concurrency ? start(req) : waiting.push(req)),
        error: (e) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          if (active === 0) subscriber.complete();
        },
      });
      return () => {
        sub.unsubscribe();
        for (const r of replies) r.unsubscribe();
      };
    });
}
