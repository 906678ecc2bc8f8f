import type { Observable } from 'rxjs';
import type { Delivery } from '../channel/Delivery.js';
import type { SendChannel, SendQueueConfig } from '../channel/SendChannel.js';
import type { StandardSchemaV1 } from '../channel/StandardSchema.js';
import { DEFAULT_WINDOW } from '../protocol/limits.js';
import { PairCore, PairRecvEnd, PairSendEnd } from './PairEnds.js';

/** Options of {@link channelPair}. */
export interface ChannelPairConfig extends SendQueueConfig {
  /** The receiving end's window: most values in flight to it. Defaults to 1024; `< 1` means 1. */
  size?: number;
  /**
   * `'auto'` (default): the Observable end acknowledges each value once its
   * subscriber's `next` returns. `'manual'`: it emits {@link Delivery} objects,
   * acknowledged when you call `ack()` (so a slow stage holds the sender).
   */
  ack?: 'auto' | 'manual';
  /** A name for messages and metrics. Defaults to `'pair'`. */
  name?: string;
  /**
   * A Standard Schema the receiving end checks each value against, where the
   * pair was made (a schema cannot travel: an Observable end sent away is not
   * checked where it arrives). The Observable's type is the schema's output;
   * an invalid value is acknowledged and errors the subscription with
   * `'EINVAL'`, after the values before it. Defaults to none.
   */
  schema?: StandardSchemaV1;
}

let pairs = 0;

/**
 * A channel with two ends, like libchan's `Pipe()`: `send.next(v)` arrives on
 * the Observable. Either end may be put anywhere inside a value sent on any
 * channel (nested in objects and arrays, several per value); it arrives on the
 * other side as a live end of the same kind, bound back over the same
 * connection, with the same windows, acknowledgements, drain/sync, completion
 * and errors as named channels. That is request/reply: send a `replyTo` end
 * with the request, and answer on it.
 *
 * ```
 * client: jobs.next({ n: 7, replyTo })      server: job.replyTo.next(49)
 * replies (Observable end, client):  ----------49--
 * ```
 *
 * An end can travel once (sending it again throws `'EPROTO'`), and the
 * Observable end can be subscribed once. An end that travelled is released
 * when either side completes, errors or unsubscribes, or when the connection
 * ends for good; the other end then completes, or errors with `'ECLOSED'`.
 *
 * ## Example
 * ```ts
 * const [replies, replyTo] = channelPair<number>();
 * jobs.next({ n: 7, replyTo });               // jobs: a channel to the server
 * replies.subscribe((r) => console.log(r));  // 49
 * ```
 * @returns `[the receiving end, the sending end]`.
 */
export function channelPair<S extends StandardSchemaV1>(
  config: ChannelPairConfig & { schema: S; ack: 'manual' },
): [Observable<Delivery<StandardSchemaV1.InferOutput<S>>>, SendChannel<StandardSchemaV1.InferInput<S>>];
export function channelPair<S extends StandardSchemaV1>(config: ChannelPairConfig & { schema: S }): [Observable<StandardSchemaV1.InferOutput<S>>, SendChannel<StandardSchemaV1.InferInput<S>>];
export function channelPair<T>(config: ChannelPairConfig & { ack: 'manual' }): [Observable<Delivery<T>>, SendChannel<T>];
export function channelPair<T>(config?: ChannelPairConfig): [Observable<T>, SendChannel<T>];
export function channelPair<T>(config: ChannelPairConfig = {}): [Observable<T> | Observable<Delivery<T>>, SendChannel<T>] {
  const size = Math.max(1, Math.floor(config.size ?? DEFAULT_WINDOW));
  const core = new PairCore(config.name ?? `pair ${++pairs}`, { size, manual: config.ack === 'manual' }, config.schema);
  const send = new PairSendEnd<T>(core, config);
  const recv = new PairRecvEnd<T>(core);
  core.send = send as PairSendEnd<unknown>;
  core.recv = recv as PairRecvEnd<unknown>;
  return [recv, send];
}
