import type { Subscriber } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import type { ChannelMeter } from '../channel/ChannelMeter.js';
import type { Delivery } from '../channel/Delivery.js';
import type { RecvLane, RecvSink } from '../channel/Lane.js';
import { SchemaGate, type GatedSink, type InvalidValueError } from '../channel/SchemaGate.js';
import type { StandardSchemaV1 } from '../channel/StandardSchema.js';
import { now, type ObservationHooks } from '../observe/hooks.js';
import { refuseLane } from '../session/refuseLane.js';
import type { ImportBinder } from './ImporterConnection.js';

/** What a `'recv'` import shares with its importer. */
export interface RecvImportContext {
  /** The counters of this import's channel name (shared by its subscriptions). */
  readonly meter: ChannelMeter;
  readonly hooks: ObservationHooks;
  /** Drops the import from the importer's list. */
  forget(imp: RecvImport): void;
}

/**
 * One subscription to `importChannel(…, 'recv')`: it owns its binding, and
 * binds again on a new session (after the exporter lost the old one) with what
 * is left of its `count`. With a `schema`, values pass a {@link SchemaGate}
 * first: an invalid one is acknowledged (with anything delivered before it and
 * not yet acknowledged: acknowledgements are cumulative), the binding fails
 * with `'EINVAL'` (the exporter requeues the values after it) and the
 * subscription errors.
 * @internal
 */
export class RecvImport implements GatedSink {
  inbound: RecvLane | null = null;
  /** Values delivered so far, over every binding. */
  private delivered = 0;
  private over = false;
  private readonly sink: RecvSink;
  /** With a schema, in manual mode: deliveries not acknowledged yet. */
  private readonly unacked: Set<number> | null;

  constructor(
    readonly name: string,
    private readonly size: number,
    /** -1: unbounded. */
    private readonly count: number,
    private readonly manual: boolean,
    private readonly subscriber: Subscriber<unknown>,
    private readonly context: RecvImportContext,
    schema?: StandardSchemaV1,
  ) {
    this.sink = schema ? new SchemaGate(schema, name, this) : this;
    this.unacked = schema && manual ? new Set() : null;
  }

  /** Opens (or reopens) the binding on `session`. */
  bind(binder: ImportBinder): void {
    if (this.over) return;
    const left = this.count < 0 ? -1 : this.count - this.delivered;
    if (left === 0) return this.finish(null);
    this.unacked?.clear();
    this.inbound = binder.openInbound(this.name, this.size, left, this.sink);
  }

  /** The subscriber went away: acknowledge what it got, cancel the rest (the exporter requeues it). */
  unbind(): void {
    if (this.over) return;
    this.over = true;
    this.context.forget(this);
    const inb = this.inbound;
    this.inbound = null;
    inb?.cancel();
  }

  /** importer.hangup(name): unbind, then complete. */
  hangup(): void {
    this.unbind();
    this.subscriber.complete();
  }

  // ---- RecvSink ----

  value(value: unknown, seq: number, inb: RecvLane, bytes: number): void {
    if (inb !== this.inbound) return;
    this.delivered++;
    const meter = this.context.meter;
    meter.valuesIn++;
    meter.bytesIn += bytes;
    const processed = this.context.hooks.processed;
    if (this.manual) {
      const open = this.unacked;
      open?.add(seq);
      let done = false;
      const t0 = processed === null ? 0 : now();
      const delivery: Delivery<unknown> = {
        value,
        seq,
        ack: () => {
          if (done) return;
          done = true;
          open?.delete(seq);
          meter.delivered++;
          inb.ack(seq);
          if (t0 > 0) this.context.hooks.processed?.(this.name, now() - t0);
        },
      };
      this.subscriber.next(delivery);
    } else {
      // Ack first: a reentrant unsubscribe inside next() (take(n)) must not requeue a delivered value.
      meter.delivered++;
      inb.ack(seq);
      if (processed === null) return this.subscriber.next(value);
      const t0 = now();
      this.subscriber.next(value);
      processed(this.name, now() - t0);
    }
  }

  end(inb: RecvLane): void {
    if (inb === this.inbound) this.finish(null);
  }

  error(error: NetchanError, inb: RecvLane): void {
    if (inb === this.inbound) this.finish(error);
  }

  lost(inb: RecvLane, error: NetchanError | undefined): void {
    if (inb === this.inbound) this.finish(error ?? null);
  }

  reject(lane: RecvLane, seq: number, error: InvalidValueError): void {
    if (lane !== this.inbound) return;
    this.context.meter.errors++;
    this.context.meter.valuesIn++;
    const seqs = this.unacked ? [...this.unacked, seq].sort((a, b) => a - b) : [seq];
    for (const s of seqs) lane.ack(s);
    this.inbound = null;
    refuseLane(lane, error);
    this.finish(error);
  }

  overflow(lane: RecvLane): void {
    if (lane !== this.inbound) return;
    this.inbound = null;
    const err = new NetchanError('EOVERFLOW', `channel "${this.name}": cannot hold this value`);
    refuseLane(lane, err);
    this.finish(err);
  }

  private finish(error: NetchanError | null): void {
    if (this.over) return;
    this.over = true;
    this.inbound = null;
    this.context.forget(this);
    if (error) this.subscriber.error(error);
    else this.subscriber.complete();
  }
}
