import { Observable, Subject, type Subscriber } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import type { RecvLane, RecvSink } from './Lane.js';
import { Deque } from '../util/Deque.js';
import type { Delivery } from './Delivery.js';
import { ChannelMeter } from './ChannelMeter.js';
import { SchemaGate, type GatedSink, type InvalidValueError } from './SchemaGate.js';
import type { StandardSchemaV1 } from './StandardSchema.js';
import { noHooks, now, type ObservationHooks } from '../observe/hooks.js';

/** Options of an exported `'recv'` channel. */
export interface ExportRecvConfig {
  /**
   * `'auto'` (default): a value is acknowledged once delivered to the subscribers.
   * `'manual'`: the channel emits {@link Delivery} objects; each is acknowledged when you call `ack()`.
   */
  ack?: 'auto' | 'manual';
  /**
   * Defaults to `false`: the channel completes when every importer that was sending
   * into it has completed (as in Go). `true` keeps it open until `exporter.hangup(name)`,
   * for servers whose clients come and go; importer completions and errors then
   * only end their own binding (errors go to `exporter.errors$`).
   */
  keepOpen?: boolean;
  /**
   * A Standard Schema (Zod, Valibot, ArkType…) each received value must pass;
   * the channel emits the schema's output. An invalid value is acknowledged
   * (never sent again), its sender's binding fails with `'EINVAL'` (its send
   * channel errors; what it sent after stays with it), and the channel errors
   * with that `'EINVAL'` (or, with `keepOpen`, reports it on `exporter.errors$`
   * and goes on). Defaults to none.
   */
  schema?: StandardSchemaV1;
}

/** Fails a receiving lane with an error of this side's (an ERROR frame on a session; a cancel elsewhere). */
export type RefuseLane = (lane: RecvLane, error: NetchanError) => void;

/** Bytes of values held across an endpoint's `'recv'` channels, and the most it may hold. */
export interface HeldBudget {
  used: number;
  readonly max: number;
}

interface Held {
  inbound: RecvLane;
  value: unknown;
  seq: number;
  bytes: number;
  /** Acknowledged already (its lane failed on a later, invalid value): kept when the lane goes. */
  acked?: boolean;
}

/**
 * The receiving end of an exported `'recv'` channel: a hot Observable of what
 * importers send. While nobody subscribes, arriving values are held
 * unacknowledged and delivered to the first subscriber, so nothing sent before
 * the subscription is lost. What is held is bounded per binding by the
 * sender's window (values and bytes) and per endpoint by `maxHeldBytes`; a
 * binding whose sender's session ends gives its held values up (they were
 * never acknowledged, so they are still the sender's to send again).
 * @internal
 */
export class ExportedRecvChannel<T> extends Observable<T> implements GatedSink {
  /** Where bindings deliver: this channel, or the schema's gate in front of it. */
  readonly sink: RecvSink;
  /** Values and bytes in, values delivered, errors (metrics). */
  readonly meter = new ChannelMeter();
  /** With a schema and `ack: 'manual'`: values emitted and not acknowledged yet, by lane (an invalid value acknowledges them). */
  private readonly unacked: Map<RecvLane, Set<number>> | null;
  private readonly out = new Subject<unknown>();
  private readonly held = new Deque<Held>();
  readonly inbounds = new Set<RecvLane>();
  private everBound = false;
  private finished: { error?: NetchanError } | null = null;
  private ended = false;
  private readonly manual: boolean;
  private readonly keepOpen: boolean;

  constructor(
    readonly name: string,
    config: ExportRecvConfig,
    private readonly report: (err: NetchanError) => void,
    private readonly budget: HeldBudget,
    private readonly refuse: RefuseLane = (lane) => lane.cancel(),
    private readonly hooks: ObservationHooks = noHooks(),
  ) {
    super((subscriber) => {
      const sub = this.out.subscribe(subscriber as Subscriber<unknown>);
      this.release();
      return sub;
    });
    this.manual = config.ack === 'manual';
    this.keepOpen = config.keepOpen === true;
    this.sink = config.schema ? new SchemaGate(config.schema, name, this) : this;
    this.unacked = config.schema && this.manual ? new Map() : null;
  }

  /** Values held for a subscriber. */
  get heldCount(): number {
    return this.held.length;
  }

  addInbound(inb: RecvLane): void {
    this.inbounds.add(inb);
    this.everBound = true;
  }

  /** Bytes of values held for a subscriber. */
  get heldBytes(): number {
    let n = 0;
    for (let i = 0; i < this.held.length; i++) n += this.held.at(i)!.bytes;
    return n;
  }

  // ---- RecvSink ----

  value(value: unknown, seq: number, inbound: RecvLane, bytes: number): boolean {
    if (this.finished !== null) return true;
    this.meter.valuesIn++;
    this.meter.bytesIn += bytes;
    if (this.held.length > 0 || !this.out.observed) {
      if (this.budget.used + bytes > this.budget.max) return false;
      this.budget.used += bytes;
      this.held.push({ inbound, value, seq, bytes });
      return true;
    }
    this.emit(inbound, value, seq);
    return true;
  }

  end(inbound: RecvLane): void {
    this.inbounds.delete(inbound);
    if (!this.keepOpen && this.inbounds.size === 0 && this.everBound) this.finish();
  }

  error(error: NetchanError, inbound: RecvLane): void {
    this.inbounds.delete(inbound);
    if (this.keepOpen) this.report(error);
    else this.finish(error);
  }

  /** The binding's session ended, or it was refused: it no longer counts as a sender, and what it sent and nobody took is let go. */
  lost(inbound: RecvLane): void {
    this.inbounds.delete(inbound);
    this.unacked?.delete(inbound);
    if (this.held.length === 0) return;
    const keep = this.held.drainAll().filter((h) => {
      if (h.inbound !== inbound || h.acked) return true;
      this.budget.used -= h.bytes;
      return false;
    });
    for (const h of keep) this.held.push(h);
  }

  /**
   * Value `seq` failed the schema: acknowledge it, and what its lane had
   * delivered or held before it (acknowledgements are cumulative: this is
   * what keeps the invalid value from coming back); fail the lane; error the
   * channel, or report it with `keepOpen`.
   */
  reject(lane: RecvLane, seq: number, error: InvalidValueError): void {
    this.meter.valuesIn++;
    this.meter.errors++;
    const seqs: number[] = [];
    for (let i = 0; i < this.held.length; i++) {
      const h = this.held.at(i)!;
      if (h.inbound === lane) {
        h.acked = true;
        seqs.push(h.seq);
      }
    }
    const open = this.unacked?.get(lane);
    if (open) seqs.push(...open);
    seqs.push(seq);
    seqs.sort((a, b) => a - b);
    for (const s of seqs) lane.ack(s);
    this.refuse(lane, error);
    this.inbounds.delete(lane);
    if (this.keepOpen) this.report(error);
    else this.finish(error);
  }

  /** A value that passed an asynchronous validation could not be held: the lane fails, the sender keeps it. */
  overflow(lane: RecvLane): void {
    this.refuse(lane, new NetchanError('EOVERFLOW', `channel "${this.name}": the receiver holds too many bytes of values nobody has taken yet (maxHeldBytes); the sender keeps this one`));
  }

  /** Completes the channel (hangup); importers sending into it are told to stop. */
  hangup(): void {
    for (const inb of [...this.inbounds]) inb.cancel();
    this.inbounds.clear();
    this.finish();
  }

  /** The exporter closed: held values are let go (never acknowledged), and the channel completes. */
  endpointClosed(): void {
    this.inbounds.clear();
    for (const h of this.held.drainAll()) this.budget.used -= h.bytes;
    this.finish();
  }

  private emit(inbound: RecvLane, value: unknown, seq: number): void {
    if (this.manual) {
      const open = this.unacked;
      if (open !== null) {
        let set = open.get(inbound);
        if (set === undefined) open.set(inbound, (set = new Set()));
        set.add(seq);
      }
      let done = false;
      const t0 = this.hooks.processed === null ? 0 : now();
      const delivery: Delivery<unknown> = {
        value,
        seq,
        ack: () => {
          if (done) return;
          done = true;
          open?.get(inbound)?.delete(seq);
          this.meter.delivered++;
          inbound.ack(seq);
          if (t0 > 0) this.hooks.processed?.(this.name, now() - t0);
        },
      };
      this.out.next(delivery);
    } else {
      this.meter.delivered++;
      inbound.ack(seq); // before next(): see RecvImport
      const processed = this.hooks.processed;
      if (processed === null) return this.out.next(value);
      const t0 = now();
      this.out.next(value);
      processed(this.name, now() - t0);
    }
  }

  private finish(error?: NetchanError): void {
    if (this.finished !== null) return;
    this.finished = error ? { error } : {};
    this.release();
  }

  /** Delivers held values to subscribers, then the end if it has come. */
  private release(): void {
    while (this.held.length > 0 && this.out.observed) {
      const h = this.held.shift()!;
      this.budget.used -= h.bytes;
      this.emit(h.inbound, h.value, h.seq);
    }
    if (this.finished !== null && this.held.length === 0 && !this.ended) {
      this.ended = true;
      if (this.finished.error) this.out.error(this.finished.error);
      else this.out.complete();
    }
  }
}
