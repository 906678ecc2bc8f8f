import { Observable, asyncScheduler, type SchedulerLike, type Subscription as RxSubscription } from 'rxjs';
import type { NatsConnection, Subscription } from '@nats-io/nats-core';
import type { ConsumerInfo, JetStreamManager } from '@nats-io/jetstream';
import { NetchanError } from '../errors/NetchanError.js';
import type { ChannelNames } from './channelNames.js';
import { JsCode, apiErrorCode, isTransient, toNetchanError } from './natsErrors.js';

/** Timing of {@link whenConsumer}'s checks. */
export interface WhenConsumerConfig {
  /** Delay after an acknowledgement passes before checking (batches a burst). Defaults to 10 ms. */
  minDelay?: number;
  /** Longest gap between checks when no acknowledgement passes. Defaults to 1 000 ms. */
  maxDelay?: number;
  /** Defaults to `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/** Nothing waits on the channel's consumer: no value pending, none delivered and unacknowledged. */
export const isDrained = (info: ConsumerInfo): boolean => info.num_pending === 0 && info.num_ack_pending === 0;

/**
 * Every value up to stream sequence `seq` has been acknowledged (or removed):
 * what one producer's drain waits for, whatever later producers publish.
 */
export const isAckedThrough =
  (seq: number) =>
  (info: ConsumerInfo): boolean =>
    info.ack_floor.stream_seq >= seq;

/**
 * Emits the consumer's info once `ready(info)` holds, then completes. Driven
 * by the channel's acknowledgements: it listens to the consumer's ack subject
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
 * whenConsumer(nc, jsm, names, isDrained).subscribe(() => console.log('drained'));
 * ```
 */
export function whenConsumer(
  nc: NatsConnection,
  jsm: JetStreamManager,
  names: ChannelNames,
  ready: (info: ConsumerInfo) => boolean,
  config: WhenConsumerConfig = {},
): Observable<ConsumerInfo> {
  const { minDelay = 10, maxDelay = 1_000, scheduler = asyncScheduler } = config;
  return new Observable<ConsumerInfo>((subscriber) => {
    let gap = minDelay;
    let timer: RxSubscription | null = null;
    let due = Infinity;
    let asking = false;
    let dirty = false;

    const schedule = (delay: number): void => {
      const at = scheduler.now() + delay;
      if (timer !== null && due <= at) return;
      timer?.unsubscribe();
      due = at;
      timer = scheduler.schedule(() => {
        timer = null;
        due = Infinity;
        check();
      }, delay);
    };

    const check = (): void => {
      if (asking) {
        dirty = true;
        return;
      }
      asking = true;
      dirty = false;
      jsm.consumers.info(names.stream, names.consumer).then(
        (info) => {
          asking = false;
          if (subscriber.closed) return;
          if (ready(info)) {
            subscriber.next(info);
            subscriber.complete();
            return;
          }
          if (dirty) schedule(minDelay);
          else {
            schedule(gap);
            gap = Math.min(maxDelay, gap * 2);
          }
        },
        (e: unknown) => {
          asking = false;
          if (subscriber.closed) return;
          const code = apiErrorCode(e);
          if (code === JsCode.ConsumerNotFound || code === JsCode.StreamNotFound) {
            subscriber.error(new NetchanError('ECLOSED', `channel "${names.channel}": its stream or consumer no longer exists`, { cause: e }));
          } else if (isTransient(e)) {
            schedule(gap);
            gap = Math.min(maxDelay, gap * 2);
          } else {
            subscriber.error(toNetchanError(e, `channel "${names.channel}": consumer info`));
          }
        },
      );
    };

    const wake = (): void => {
      gap = minDelay;
      schedule(minDelay);
    };
    // Acks travel as messages to $JS.ACK.<stream>.<consumer>.… (2.10+ may put domain and account first).
    const subs: Subscription[] = [
      nc.subscribe(`$JS.ACK.${names.stream}.${names.consumer}.>`, { callback: wake }),
      nc.subscribe(`$JS.ACK.*.*.${names.stream}.${names.consumer}.>`, { callback: wake }),
    ];
    check();
    return () => {
      timer?.unsubscribe();
      for (const s of subs) s.unsubscribe();
    };
  });
}
