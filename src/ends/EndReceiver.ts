import { Observable, type Subscriber } from 'rxjs';
import type { HeldBudget } from '../channel/ExportedRecvChannel.js';
import type { Delivery } from '../channel/Delivery.js';
import type { RecvLane, RecvSink } from '../channel/Lane.js';
import { SchemaGate, type GatedSink, type InvalidValueError } from '../channel/SchemaGate.js';
import type { StandardSchemaV1 } from '../channel/StandardSchema.js';
import { NetchanError } from '../errors/NetchanError.js';
import { refuseLane } from '../session/refuseLane.js';
import { Deque } from '../util/Deque.js';

export interface Held {
  lane: RecvLane;
  value: unknown;
  seq: number;
  bytes: number;
}

/** `'waiting'` for its one subscriber, `'subscribed'`, `'done'` (ended, unsubscribed, or sent away). */
type ReceiverState = 'waiting' | 'subscribed' | 'done';

/**
 * The receiving end of a channel pair, here or where it travelled to: an
 * Observable with exactly one subscription. What arrives before it is
 * subscribed is held, unacknowledged (bounded by the window and the endpoint's
 * `maxHeldBytes`). Unsubscribing releases the end: its lane is cancelled and
 * the sending end completes (its `next()` then throws `'ECLOSED'`).
 *
 * With a `schema` (a pair's receiving end, where it was made), values pass a
 * {@link SchemaGate}: an invalid one is acknowledged (with what came before it),
 * the lane fails and the subscriber errors with `'EINVAL'` after the values
 * before it.
 */
export abstract class EndReceiver<T> extends Observable<T> implements GatedSink {
  /** Where lanes deliver: this end, or the schema's gate in front of it. */
  readonly sink: RecvSink;
  /** With a schema, in manual mode: deliveries not acknowledged yet. */
  private readonly unacked: Set<number> | null;
  private subscriber: Subscriber<unknown> | null = null;
  private stateNow: ReceiverState = 'waiting';
  private readonly held = new Deque<Held>();
  private finished: { error?: NetchanError } | null = null;
  protected lane: RecvLane | null = null;

  constructor(
    readonly manual: boolean,
    private readonly budget: () => HeldBudget | null,
    schema?: StandardSchemaV1,
    name = 'channel end',
  ) {
    super((subscriber) => this.attachSubscriber(subscriber as Subscriber<unknown>));
    this.sink = schema ? new SchemaGate(schema, name, this) : this;
    this.unacked = schema && manual ? new Set() : null;
  }

  /** Subscribed once: what the subclass must start (a local lane, say). */
  protected abstract onSubscribe(): void;
  /** The end is over (ended, failed, unsubscribed): release it. */
  protected abstract onRelease(): void;

  // ---- RecvSink ----

  value(value: unknown, seq: number, lane: RecvLane, bytes: number): boolean {
    if (this.finished !== null || this.stateNow === 'done') return true;
    if (this.subscriber === null || this.held.length > 0) {
      const budget = this.budget();
      if (budget !== null) {
        if (budget.used + bytes > budget.max) return false;
        budget.used += bytes;
      }
      this.held.push({ lane, value, seq, bytes });
      return true;
    }
    this.emit(lane, value, seq);
    return true;
  }

  end(): void {
    this.finish();
  }

  error(error: NetchanError): void {
    this.finish(error);
  }

  lost(_lane: RecvLane, error: NetchanError | undefined): void {
    this.finish(error ? new NetchanError('ECLOSED', `channel end lost: ${error.message}`, { cause: error }) : undefined);
  }

  /** A value failed the schema: acknowledge it and what came before it, end with `error`, fail the lane. */
  reject(lane: RecvLane, seq: number, error: InvalidValueError): void {
    const seqs: number[] = [...(this.unacked ?? []), seq];
    for (let i = 0; i < this.held.length; i++) seqs.push(this.held.at(i)!.seq);
    seqs.sort((a, b) => a - b);
    for (const s of seqs) lane.ack(s);
    this.finish(error);
    refuseLane(lane, error);
  }

  overflow(lane: RecvLane): void {
    const err = new NetchanError('EOVERFLOW', 'channel end: the receiver holds too many bytes of values nobody has taken yet (maxHeldBytes)');
    this.finish(err);
    refuseLane(lane, err);
  }

  /** The sending end can no longer be reached (its value was discarded, or its endpoint closed). */
  protected orphan(error: NetchanError): void {
    this.finish(error);
  }

  private attachSubscriber(subscriber: Subscriber<unknown>): () => void {
    if (this.stateNow !== 'waiting') {
      subscriber.error(new NetchanError('EPROTO', this.stateNow === 'subscribed' ? 'a channel end can be subscribed once' : 'this channel end is over (it ended, was unsubscribed, or travelled)'));
      return () => {};
    }
    this.stateNow = 'subscribed';
    this.subscriber = subscriber;
    this.onSubscribe();
    this.flush();
    return () => {
      if (this.stateNow === 'done') return;
      this.stateNow = 'done';
      this.subscriber = null;
      this.dropHeld();
      this.lane?.cancel();
      this.onRelease();
    };
  }

  /** True while its one subscriber is there. */
  protected get isSubscribed(): boolean {
    return this.stateNow === 'subscribed';
  }

  /** Sent away inside a value. */
  private travelledAway = false;

  /** For messages: `pair 3`, `channel end 7`. */
  protected abstract readonly endLabel: string;

  /** True once this end was sent away. */
  get hasTravelled(): boolean {
    return this.travelledAway;
  }

  /** Marks the end as sent away (no subscriber will come here); throws `'EPROTO'` if it already was, or is subscribed here. */
  travel(): void {
    if (this.travelledAway) throw new NetchanError('EPROTO', `${this.endLabel}: a channel end can travel once; this one already did`);
    if (this.stateNow === 'subscribed') throw new NetchanError('EPROTO', `${this.endLabel}: this end is subscribed here; it cannot travel`);
    this.travelledAway = true;
    this.stateNow = 'done';
  }

  /** It did not travel after all (a value that stayed in this process): it may be subscribed again. */
  stayed(): void {
    this.travelledAway = false;
    if (this.stateNow === 'done' && this.subscriber === null && this.finished === null) this.stateNow = 'waiting';
  }

  /** @internal Takes the values held for a subscriber out (a forwarded end hands them on). */
  protected takeHeld(): Held[] {
    const budget = this.budget();
    const held = this.held.drainAll();
    if (budget !== null) for (const h of held) budget.used -= h.bytes;
    return held;
  }


  private emit(lane: RecvLane, value: unknown, seq: number): void {
    const s = this.subscriber!;
    if (this.manual) {
      const open = this.unacked;
      open?.add(seq);
      const delivery: Delivery<unknown> = {
        value,
        seq,
        ack: () => {
          open?.delete(seq);
          lane.ack(seq);
        },
      };
      s.next(delivery);
    } else {
      lane.ack(seq); // before next(): a reentrant unsubscribe must not give a delivered value back
      s.next(value);
    }
  }

  private finish(error?: NetchanError): void {
    if (this.finished !== null) return;
    this.finished = error ? { error } : {};
    this.flush();
  }

  private flush(): void {
    const budget = this.budget();
    while (this.held.length > 0 && this.subscriber !== null) {
      const h = this.held.shift()!;
      if (budget !== null) budget.used -= h.bytes;
      this.emit(h.lane, h.value, h.seq);
    }
    if (this.finished !== null && this.held.length === 0 && this.subscriber !== null && this.stateNow === 'subscribed') {
      const s = this.subscriber;
      this.stateNow = 'done';
      this.subscriber = null;
      this.onRelease();
      if (this.finished.error) s.error(this.finished.error);
      else s.complete();
    } else if (this.finished !== null && this.stateNow === 'waiting') {
      // Nobody subscribed yet: the end is delivered (complete or error) on subscription.
    }
  }

  private dropHeld(): void {
    const budget = this.budget();
    for (const h of this.held.drainAll()) if (budget !== null) budget.used -= h.bytes;
  }
}
