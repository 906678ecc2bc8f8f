import type { Subscriber } from 'rxjs';
import type { NetchanError } from '../errors/NetchanError.js';
import type { Delivery } from '../channel/Delivery.js';
import type { RecvLane, RecvSink } from '../channel/Lane.js';
import type { ImportBinder } from './ImporterConnection.js';

/**
 * One subscription to `importChannel(…, 'recv')`: it owns its binding, and
 * binds again on a new session (after the exporter lost the old one) with what
 * is left of its `count`.
 * @internal
 */
export class RecvImport implements RecvSink {
  inbound: RecvLane | null = null;
  /** Values delivered so far, over every binding. */
  private delivered = 0;
  private over = false;

  constructor(
    readonly name: string,
    private readonly size: number,
    /** -1: unbounded. */
    private readonly count: number,
    private readonly manual: boolean,
    private readonly subscriber: Subscriber<unknown>,
    private readonly forget: (imp: RecvImport) => void,
  ) {}

  /** Opens (or reopens) the binding on `session`. */
  bind(binder: ImportBinder): void {
    if (this.over) return;
    const left = this.count < 0 ? -1 : this.count - this.delivered;
    if (left === 0) return this.finish(null);
    this.inbound = binder.openInbound(this.name, this.size, left, this);
  }

  /** The subscriber went away: acknowledge what it got, cancel the rest (the exporter requeues it). */
  unbind(): void {
    if (this.over) return;
    this.over = true;
    this.forget(this);
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

  value(value: unknown, seq: number, inb: RecvLane): void {
    if (inb !== this.inbound) return;
    this.delivered++;
    if (this.manual) {
      const delivery: Delivery<unknown> = { value, seq, ack: () => inb.ack(seq) };
      this.subscriber.next(delivery);
    } else {
      // Ack first: a reentrant unsubscribe inside next() (take(n)) must not requeue a delivered value.
      inb.ack(seq);
      this.subscriber.next(value);
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

  private finish(error: NetchanError | null): void {
    if (this.over) return;
    this.over = true;
    this.inbound = null;
    this.forget(this);
    if (error) this.subscriber.error(error);
    else this.subscriber.complete();
  }
}
