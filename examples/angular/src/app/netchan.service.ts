import { DestroyRef, Injectable, InjectionToken, inject, type Signal } from '@angular/core';
import { toSignal } from '@angular/core/rxjs-interop';
import { Importer, drain, feed, importChannel, type ImporterState, type ImportRecvConfig } from 'rx-netchan';
import { animationFrames, map, Observable, scan } from 'rxjs';

/** Where the exporter listens. Defaults to `ws(s)://<this page's host>/netchan`. */
export const NETCHAN_URL = new InjectionToken<string>('NETCHAN_URL', {
  providedIn: 'root',
  factory: () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/netchan`,
});

/** How far a batch has got: `acked` of `total` values acknowledged by the exporter. */
export interface BatchProgress {
  readonly total: number;
  readonly sent: number;
  readonly acked: number;
  readonly done: boolean;
}

/**
 * One rx-netchan Importer for the whole app, connected over WebSocket with
 * `reconnect`: a flaky network, a sleeping laptop or a server deploy is a gap,
 * not an end. Imports stay subscribed across it and resume exactly where they
 * stopped. Channels come out as cold Observables (each subscription binds one
 * import, and unsubscribing unbinds it, so unacknowledged values go back to
 * the exporter's queue) or as signals. The connection closes when the app is
 * destroyed.
 */
@Injectable({ providedIn: 'root' })
export class NetchanService {
  private readonly importer = Importer.connect(inject(NETCHAN_URL), { reconnect: { initialDelay: 250, maxDelay: 5_000 } });

  /** `'connecting'`, `'open'`, `'reconnecting'` or `'closed'`, for a status badge. */
  readonly state: Signal<ImporterState> = toSignal(this.importer.state$, { initialValue: 'connecting' as ImporterState });

  /** How many times the connection came back (each resumed, or started a new session). */
  readonly reconnections: Signal<number> = toSignal(this.importer.reconnects$.pipe(scan((n) => n + 1, 0)), { initialValue: 0 });

  /** Connection problems (`ECLOSED`, `EAUTH`, …) as a signal, for a status line. */
  readonly lastError: Signal<string | null> = toSignal(
    this.importer.errors$.pipe(map((e) => `${e.code}: ${e.message}`)),
    { initialValue: null },
  );

  constructor() {
    inject(DestroyRef).onDestroy(() => void this.importer.close());
  }

  /** The exporter's `'send'` channel `name`, as a cold Observable. */
  receive<T>(name: string, config?: ImportRecvConfig): Observable<T> {
    return importChannel<T>(this.importer, name, 'recv', config);
  }

  /**
   * The latest value of channel `name` as a signal. Call it in an injection
   * context (a component field): the import is unbound when that component is
   * destroyed.
   */
  latest<T>(name: string, config?: ImportRecvConfig): Signal<T | undefined> {
    return toSignal(this.receive<T>(name, config));
  }

  /**
   * Sends `values` into the exporter's `'recv'` channel `name`, paced by the
   * acknowledgement window (`size`), and reports progress on every animation
   * frame until the exporter has acknowledged every value (drain). Unsubscribe
   * to stop early.
   */
  sendBatch<T>(name: string, values: Iterable<T>, size = 8): Observable<BatchProgress> {
    return new Observable<BatchProgress>((subscriber) => {
      const channel = importChannel<T>(this.importer, name, 'send', { size });
      const total = [...values].length;
      let sent = 0;
      function* counted(): Generator<T> {
        for (const v of values) {
          sent++;
          yield v;
        }
      }
      const progress = (done: boolean): BatchProgress => ({ total, sent, acked: done ? total : sent - channel.pending, done });
      const ticks = animationFrames().subscribe(() => subscriber.next(progress(false)));
      const work = feed(channel, counted(), { complete: true })
        .pipe(drain(channel, { timeout: 30_000 }))
        .subscribe({
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            subscriber.next(progress(true));
            subscriber.complete();
          },
        });
      return () => {
        ticks.unsubscribe();
        work.unsubscribe();
        channel.complete();
      };
    });
  }
}
