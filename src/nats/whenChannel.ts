import { Observable } from 'rxjs';
import type { NatsConnection } from '@nats-io/transport-node';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { ChannelNames } from './channelNames.js';
import { ChannelWatch, type ChannelProgress, type ChannelWatchConfig } from './ChannelWatch.js';

/** Nothing waits on the channel: no value undelivered, none delivered and unacknowledged. */
export const isDrained = (p: ChannelProgress): boolean => p.drained;

/**
 * Every value up to stream sequence `seq` has been received and acknowledged
 * (or removed): what one producer's drain waits for, whatever later producers publish.
 */
export const isAckedThrough =
  (seq: number) =>
  (p: ChannelProgress): boolean =>
    p.receivedThrough >= seq;

/**
 * Emits the channel's progress once `ready(progress)` holds, then completes
 * (see {@link ChannelWatch}, {@link progressOf}). Driven by the channel's acknowledgements: it listens to the consumer's ack subject
 * and asks for the consumer's info shortly after acknowledgements pass; with
 * none passing it asks again with a growing gap (up to `maxDelay`), which
 * covers what no acknowledgement announces (a redelivery after `ack_wait`, a
 * purge). It checks at once on subscribe. Unsubscribing stops it all.
 * Errors with `'ECLOSED'` when the consumer or stream no longer exists.
 *
 * ```
 * acks:    --a-a-----a--------
 * checks:  c--c-c-----c|        (c: info request; | when ready)
 * ```
 *
 * ## Example
 * ```ts
 * whenChannel(nc, jsm, names, isDrained).subscribe(() => console.log('drained'));
 * ```
 */
export function whenChannel(
  nc: NatsConnection,
  jsm: JetStreamManager,
  names: ChannelNames,
  ready: (progress: ChannelProgress) => boolean,
  config: ChannelWatchConfig | ChannelWatch = {},
): Observable<ChannelProgress> {
  return new Observable<ChannelProgress>((subscriber) => {
    const watch = config instanceof ChannelWatch ? config : new ChannelWatch(nc, jsm, names, config);
    let stop: (() => void) | null = null;
    let done = false;
    const next = (p: ChannelProgress): void => {
      if (done || !ready(p)) return;
      done = true;
      stop?.();
      subscriber.next(p);
      subscriber.complete();
    };
    stop = watch.listen(next, (e) => subscriber.error(e));
    if (done) stop();
    return () => stop?.();
  });
}
