import { asyncScheduler, type SchedulerLike, type Subscription as RxSubscription } from 'rxjs';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { RetentionPolicy, type ConsumerInfo, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { NetchanError } from '../errors/NetchanError.js';
import type { ChannelNames } from './channelNames.js';
import { JsCode, apiErrorCode, isTransient, toNetchanError } from './natsErrors.js';

/** Where a channel's receivers stand, as one check found it. */
export interface ChannelProgress {
  /** Every value up to this stream sequence has been received and acknowledged (or removed). */
  readonly receivedThrough: number;
  /** Nothing waits on the channel: no value undelivered, none delivered and unacknowledged. */
  readonly drained: boolean;
  readonly consumer: ConsumerInfo;
  readonly stream: StreamInfo;
}

/**
 * Reads progress from the stream and its consumer. With work-queue
 * retention (the default) the stream is the truth: a value is removed once
 * acknowledged, so everything below `first_seq` was received, and an empty
 * stream is drained. (The consumer's ack floor is not: nats-server 2.9
 * restarted from its store can leave it behind for good, at 0 with every
 * value acknowledged.) With other retentions the consumer's counters decide.
 */
export function progressOf(stream: StreamInfo, consumer: ConsumerInfo): ChannelProgress {
  if (stream.config.retention === RetentionPolicy.Workqueue) {
    return { receivedThrough: stream.state.first_seq - 1, drained: stream.state.messages === 0, consumer, stream };
  }
  const drained = consumer.num_pending === 0 && consumer.num_ack_pending === 0;
  const receivedThrough = Math.max(consumer.ack_floor.stream_seq, drained ? consumer.delivered.stream_seq : 0);
  return { receivedThrough, drained, consumer, stream };
}

/** Timing of a {@link ChannelWatch}'s checks. */
export interface ChannelWatchConfig {
  /** Delay after an acknowledgement passes before checking (batches a burst). Defaults to 10 ms. */
  minDelay?: number;
  /** Longest gap between checks when no acknowledgement passes. Defaults to 1 000 ms. */
  maxDelay?: number;
  /** Defaults to `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

interface Listener {
  next(progress: ChannelProgress): void;
  error(e: NetchanError): void;
}

/**
 * Follows a channel's progress (what its receivers have acknowledged, what
 * is left: see {@link progressOf}) for whoever listens: drain and sync on this side, a producer counting its values
 * received, receivers waiting for completion. One per channel and connection,
 * however many listen. Driven by the channel's acknowledgements: it listens to
 * the consumer's ack subject and asks for the stream's and the consumer's
 * info shortly after acknowledgements pass; with none passing it asks again with a growing gap
 * (up to `maxDelay`), which covers what no acknowledgement announces (a
 * redelivery after `ack_wait`, a purge). With nobody listening it holds no
 * subscription and no timer.
 *
 * ```
 * acks:    --a-a-----a--------
 * checks:  c--c-c-----c---c---    (c: info request; gaps grow while nothing moves)
 * ```
 */
export class ChannelWatch {
  private readonly listeners = new Set<Listener>();
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private readonly scheduler: SchedulerLike;
  private gap: number;
  private timer: RxSubscription | null = null;
  private due = Infinity;
  private asking = false;
  private dirty = false;
  private subs: Subscription[] = [];
  /** The last progress found, if any. */
  latest: ChannelProgress | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly names: ChannelNames,
    config: ChannelWatchConfig = {},
  ) {
    this.minDelay = config.minDelay ?? 10;
    this.maxDelay = config.maxDelay ?? 1_000;
    this.scheduler = config.scheduler ?? asyncScheduler;
    this.gap = this.minDelay;
  }

  /**
   * Calls `next` with the progress found by every check from now on (the
   * first one at once), `error` (then nothing more) when the consumer or its
   * stream is gone. Returns the function that stops it.
   */
  listen(next: (progress: ChannelProgress) => void, error: (e: NetchanError) => void = () => undefined): () => void {
    const l: Listener = { next, error };
    this.listeners.add(l);
    if (this.listeners.size === 1) this.start();
    this.check();
    return () => {
      if (this.listeners.delete(l) && this.listeners.size === 0) this.stop();
    };
  }

  /** Something changed that no acknowledgement announces (a value was stored): check soon. */
  poke(): void {
    if (this.listeners.size === 0) return;
    this.gap = this.minDelay;
    this.schedule(this.minDelay);
  }

  private start(): void {
    const wake = (): void => this.poke();
    // Acks travel as messages to $JS.ACK.<stream>.<consumer>.… (2.10+ may put domain and account first).
    this.subs = [
      this.nc.subscribe(`$JS.ACK.${this.names.stream}.${this.names.consumer}.>`, { callback: wake }),
      this.nc.subscribe(`$JS.ACK.*.*.${this.names.stream}.${this.names.consumer}.>`, { callback: wake }),
    ];
  }

  private stop(): void {
    this.timer?.unsubscribe();
    this.timer = null;
    this.due = Infinity;
    this.gap = this.minDelay;
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
  }

  private schedule(delay: number): void {
    const at = this.scheduler.now() + delay;
    if (this.timer !== null && this.due <= at) return;
    this.timer?.unsubscribe();
    this.due = at;
    this.timer = this.scheduler.schedule(() => {
      this.timer = null;
      this.due = Infinity;
      this.check();
    }, delay);
  }

  private check(): void {
    if (this.listeners.size === 0) return;
    if (this.asking) {
      this.dirty = true;
      return;
    }
    this.asking = true;
    this.dirty = false;
    // The consumer first: a value acknowledged before the consumer is read is gone from the stream read after.
    const read = this.jsm.consumers
      .info(this.names.stream, this.names.consumer)
      .then(async (consumer) => progressOf(await this.jsm.streams.info(this.names.stream), consumer));
    read.then(
      (progress) => {
        this.asking = false;
        if (this.listeners.size === 0) return;
        this.latest = progress;
        for (const l of [...this.listeners]) if (this.listeners.has(l)) l.next(progress);
        if (this.listeners.size === 0) return;
        if (this.dirty) this.schedule(this.minDelay);
        else this.backOff();
      },
      (e: unknown) => {
        this.asking = false;
        if (this.listeners.size === 0) return;
        const code = apiErrorCode(e);
        if (code === JsCode.ConsumerNotFound || code === JsCode.StreamNotFound) {
          this.failAll(new NetchanError('ECLOSED', `channel "${this.names.channel}": its stream or consumer no longer exists`, { cause: e }));
        } else if (isTransient(e)) {
          this.backOff();
        } else {
          this.failAll(toNetchanError(e, `channel "${this.names.channel}": consumer info`));
        }
      },
    );
  }

  private backOff(): void {
    this.schedule(this.gap);
    this.gap = Math.min(this.maxDelay, this.gap * 2);
  }

  private failAll(e: NetchanError): void {
    const ls = [...this.listeners];
    this.listeners.clear();
    this.stop();
    for (const l of ls) l.error(e);
  }
}
