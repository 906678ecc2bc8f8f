import { Observable, Subject } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import { errorInfo } from '../errors/remoteError.js';
import type { ValueCodec } from '../protocol/codec.js';
import { DEFAULT_QUEUE_LIMIT } from '../protocol/limits.js';
import type { Signal } from '../util/Signal.js';
import { ChannelMeter } from './ChannelMeter.js';
import { Dispatcher, type OverflowStrategy, type SyncPoint } from './Dispatcher.js';
import type { SendLaneOwner } from './Lane.js';
import { TRACK, type HasTrackable, type Trackable } from './Trackable.js';

/** Options of a send queue (exported `'send'` channels and imported `'send'` channels). */
export interface SendQueueConfig {
  /** Values that may wait for a receiver or for window. Defaults to 1024. `Infinity` for unbounded. */
  queueLimit?: number;
  /**
   * What `next()` does when the queue is full. Defaults to `'error'`: `next()` throws a
   * NetchanError `'EOVERFLOW'` and the value is not taken. `'drop-oldest'` and
   * `'drop-newest'` discard a value instead (counted in `dropped`).
   */
  overflow?: OverflowStrategy;
}

/**
 * A channel whose values go out to receivers. Returned by `exportChannel(…, 'send')`
 * and (with one receiver) by `importChannel(…, 'send')`. `next(v)` sends `v` to
 * exactly one receiver; `complete()` ends every receiver after what was sent
 * before it; `error(e)` errors them. Subscribing observes the channel's own
 * end: it emits no values, completes on completion and errors on failure.
 *
 * `next()` throws a NetchanError when the value cannot be taken: `'EOVERFLOW'`
 * (queue full), `'ETOOBIG'`/`'EINVAL'` (the value), or the channel's failure
 * (`'ENOCHAN'`, `'EDIR'`, `'ECLOSED'` once its endpoint closed, …).
 */
export class SendChannel<T> extends Subject<T> implements HasTrackable {
  /** @internal */
  readonly dispatcher: Dispatcher;
  /** @internal Values out, bytes out and acknowledgements of this channel's bindings (metrics). */
  readonly meter = new ChannelMeter();
  private readonly trackable: Trackable;
  private owner: SendLaneOwner | null = null;

  /** @internal */
  constructor(
    readonly name: string,
    protected codec: ValueCodec,
    ownerProgress: Signal,
    config: SendQueueConfig,
    label: string,
    failure: () => Error | null = () => null,
  ) {
    super();
    const limit = config.queueLimit ?? DEFAULT_QUEUE_LIMIT;
    this.dispatcher = new Dispatcher(name, limit >= 1 ? limit : 1, config.overflow ?? 'error', ownerProgress);
    const d = this.dispatcher;
    this.trackable = {
      progress: d.progress,
      pending: () => d.pending,
      syncPoint: (): SyncPoint => d.syncPoint(),
      label,
      failure: () => d.failed ?? failure(),
      broken: () => (d.state === 'errored' ? d.failed : null),
    };
  }

  /**
   * @internal The owner of this channel's bindings over sessions: the queue,
   * with the channel's meter, so the session counts what goes out and what is
   * acknowledged.
   */
  get laneOwner(): SendLaneOwner {
    const d = this.dispatcher;
    return (this.owner ??= {
      meter: this.meter,
      get queued() {
        return d.queued;
      },
      get receivers() {
        return d.receivers;
      },
      onAck: (lane) => d.onAck(lane),
      onWritable: (lane) => d.onWritable(lane),
      onLost: (lane) => d.onLost(lane),
    });
  }

  /** Room left in the send queue before its overflow strategy applies. */
  get capacity(): number {
    return this.dispatcher.capacity;
  }

  /** Values not yet acknowledged by a receiver: queued plus in flight. */
  get pending(): number {
    return this.dispatcher.pending;
  }

  /** Values waiting in the queue for a receiver or for window (`pending - queued` are in flight). */
  get queued(): number {
    return this.dispatcher.queued;
  }

  /** Values discarded by a `'drop-oldest'`/`'drop-newest'` overflow strategy. */
  get dropped(): number {
    return this.dispatcher.dropped;
  }

  /**
   * The queue's room: emits `capacity` on subscribe and again whenever room frees
   * up, so a producer can pace itself without buffering. See also `feed()`.
   */
  readonly capacity$: Observable<number> = new Observable<number>((subscriber) => {
    subscriber.next(this.dispatcher.capacity);
    return this.dispatcher.room.listen(() => subscriber.next(this.dispatcher.capacity));
  });

  /** complete() or error() was called on this channel (then next() is ignored, as on any Subject). */
  private endedByUser = false;

  override next(value: T): void {
    if (this.endedByUser) return;
    // Failed by the other side or by its endpoint closing: say so, rather than take a value that goes nowhere.
    const failed = this.dispatcher.failed;
    if (failed) throw failed;
    if (this.isStopped || this.dispatcher.state !== 'open') return;
    this.dispatcher.push(this.codec.encode(value, this.name, this.frameLimit));
  }

  /** Largest encoded value `next()` accepts: this side's frame limit (narrowed by subclasses that know their peer's). */
  protected get frameLimit(): number {
    return this.codec.maxFrameBytes;
  }

  override complete(): void {
    if (this.isStopped) return;
    this.endedByUser = true;
    this.dispatcher.complete();
    super.complete();
  }

  override error(err: unknown): void {
    if (this.isStopped) return;
    this.endedByUser = true;
    const info = errorInfo(err, this.name);
    this.dispatcher.error(info, new NetchanError(info.code as NetchanError['code'], info.message, { cause: err }));
    super.error(err);
  }

  /**
   * @internal The endpoint closed: `next()` throws `'ECLOSED'` from now on;
   * observers complete if every value was acknowledged, else error with `reason`.
   */
  endpointClosed(reason: NetchanError): void {
    const pending = this.dispatcher.pending;
    this.dispatcher.stop('closed', reason);
    if (this.isStopped) return;
    if (pending === 0) super.complete();
    else super.error(reason);
  }

  /** @internal Ends observers without touching the queue (the subclass decided the queue's fate). */
  protected settleObservers(error: NetchanError | null): void {
    if (this.isStopped) return;
    if (error) super.error(error);
    else super.complete();
  }

  /** @internal */
  [TRACK](): Trackable {
    return this.trackable;
  }
}
