import { from, mergeMap, tap, type ObservableInput, type OperatorFunction } from 'rxjs';
import type { Delivery } from '../channel/Delivery.js';

/**
 * For imports with `ack: 'manual'`: runs `project` on each value and acknowledges
 * the value only when the Observable it returns completes, at most `concurrency`
 * at a time. A slow stage therefore holds the sender's window instead of letting
 * values pile up in front of it. A stage that errors or is unsubscribed does not
 * acknowledge (the value goes back to the exporter's queue if the import ends).
 *
 * ```
 * deliveries: -a-b-c-----------       size: 2
 * project:     a~~~|b~~~|c~~~|        (one at a time)
 * result:     -----A----B----C
 * acks:       -----1----2----3        so c is only sent after a's ack
 * ```
 *
 * ## Example
 * ```ts
 * importChannel<Job>(importer, 'jobs', 'recv', { ack: 'manual', size: 4 })
 *   .pipe(ackWhenDone((job) => runJob(job), 4))
 *   .subscribe((result) => console.log(result));
 * ```
 * @param project Work to do per value.
 * @param concurrency How many values are processed at once. Defaults to 1 (like concatMap).
 */
export function ackWhenDone<T, R>(
  project: (value: T, seq: number) => ObservableInput<R>,
  concurrency = 1,
): OperatorFunction<Delivery<T>, R> {
  return mergeMap((d: Delivery<T>) => from(project(d.value, d.seq)).pipe(tap({ complete: () => d.ack() })), concurrency);
}
