import { Observable, Subject, type Subscriber } from 'rxjs';
import type { NetchanError } from '../errors/NetchanError.js';
import type { RecvLane, RecvSink } from './Lane.js';
import { Deque } from '../util/Deque.js';
import type { Delivery } from './Delivery.js';

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
}

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
export class ExportedRecvChannel<T> extends Observable<T> implements RecvSink {
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
  ) {
    super((subscriber) => {
      const sub = this.out.subscribe(subscriber as Subscriber<unknown>);
      this.release();
      return sub;
    });
    this.manual = config.ack === 'manual';
    this.keepOpen = config.keepOpen === true;
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
    if (this.held.length === 0) return;
    const keep = this.held.drainAll().filter((h) => {
      if (h.inbound !== inbound) return true;
      this.budget.used -= h.bytes;
      return false;
    });
    for (const h of keep) this.held.push(h);
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
      const delivery: Delivery<unknown> = { value, seq, ack: () => inbound.ack(seq) };
      this.out.next(delivery);
    } else {
      inbound.ack(seq); // before next(): see RecvImport
      this.out.next(value);
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
