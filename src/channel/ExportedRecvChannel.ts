import { Observable, Subject, type Subscriber } from 'rxjs';
import type { NetchanError } from '../errors/NetchanError.js';
import type { Delivery } from './Delivery.js';
import { Deque } from './Deque.js';
import type { Inbound, InboundSink } from './Inbound.js';

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

interface Held {
  inbound: Inbound;
  value: unknown;
  seq: number;
}

/**
 * The receiving end of an exported `'recv'` channel: a hot Observable of what
 * importers send. While nobody subscribes, arriving values are held
 * unacknowledged (bounded by the importers' windows) and delivered to the first
 * subscriber, so nothing sent before the subscription is lost.
 * @internal
 */
export class ExportedRecvChannel<T> extends Observable<T> implements InboundSink {
  private readonly out = new Subject<unknown>();
  private readonly held = new Deque<Held>();
  readonly inbounds = new Set<Inbound>();
  private everBound = false;
  private finished: { error?: NetchanError } | null = null;
  private ended = false;
  private readonly manual: boolean;
  private readonly keepOpen: boolean;

  constructor(
    readonly name: string,
    config: ExportRecvConfig,
    private readonly report: (err: NetchanError) => void,
  ) {
    super((subscriber) => {
      const sub = this.out.subscribe(subscriber as Subscriber<unknown>);
      this.release();
      return sub;
    });
    this.manual = config.ack === 'manual';
    this.keepOpen = config.keepOpen === true;
  }

  addInbound(inb: Inbound): void {
    this.inbounds.add(inb);
    this.everBound = true;
  }

  // ---- InboundSink ----

  value(value: unknown, seq: number, inbound: Inbound): void {
    if (this.finished !== null) return;
    if (this.held.length > 0 || !this.out.observed) {
      this.held.push({ inbound, value, seq });
      return;
    }
    this.emit(inbound, value, seq);
  }

  end(inbound: Inbound): void {
    this.inbounds.delete(inbound);
    if (!this.keepOpen && this.inbounds.size === 0 && this.everBound) this.finish();
  }

  error(error: NetchanError, inbound: Inbound): void {
    this.inbounds.delete(inbound);
    if (this.keepOpen) this.report(error);
    else this.finish(error);
  }

  /** The binding's connection went away: it no longer counts as a sender. */
  lose(inbound: Inbound): void {
    this.inbounds.delete(inbound);
  }

  /** Completes the channel (hangup); importers sending into it are told to stop. */
  hangup(): void {
    for (const inb of this.inbounds) {
      inb.dead = true;
      inb.session.sendCancel(inb.id);
      inb.session.forgetInbound(inb.id);
    }
    this.inbounds.clear();
    this.finish();
  }

  private emit(inbound: Inbound, value: unknown, seq: number): void {
    if (this.manual) {
      const delivery: Delivery<unknown> = { value, seq, ack: () => inbound.ack(seq) };
      this.out.next(delivery);
    } else {
      inbound.ack(seq); // before next(): see Importer.bindRecv
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
      this.emit(h.inbound, h.value, h.seq);
    }
    if (this.finished !== null && this.held.length === 0 && !this.ended) {
      this.ended = true;
      if (this.finished.error) this.out.error(this.finished.error);
      else this.out.complete();
    }
  }
}
