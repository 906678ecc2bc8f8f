import type { SendLane, SendLaneOwner } from '../channel/Lane.js';
import { SendChannel, type SendQueueConfig } from '../channel/SendChannel.js';
import type { NetchanError } from '../errors/NetchanError.js';
import type { ValueCodec } from '../protocol/codec.js';
import type { ImportBinder } from './ImporterConnection.js';
import type { Signal } from '../util/Signal.js';

/** What an imported send channel tells its Importer. */
export interface ImportedSendHost {
  /** The exporter failed this import (`'ENOCHAN'`, `'EDIR'`, …): report it on `errors$`. */
  report(err: NetchanError): void;
  /** The import is over and has nothing pending: the importer may forget it. */
  done(ch: ImportedSendChannel<unknown>): void;
}

/**
 * An imported `'send'` channel: a {@link SendChannel} with one receiver, the
 * exporter's `'recv'` channel of the same name, over its current binding. The
 * binding is replaced when the importer starts a new session (the values it had
 * in flight go back to the front of the queue first).
 * @internal
 */
export class ImportedSendChannel<T> extends SendChannel<T> implements SendLaneOwner {
  outbound: SendLane | null = null;
  private accepted = 0;
  private binder: ImportBinder | null = null;
  readonly limit: number;

  constructor(
    name: string,
    codec: ValueCodec,
    progress: Signal,
    readonly config: SendQueueConfig & { size: number; count: number },
    failure: () => Error | null,
    private readonly host: ImportedSendHost,
  ) {
    super(name, codec, progress, config, `channel "${name}"`, failure);
    this.limit = config.count < 0 ? Infinity : config.count;
  }

  /** Opens the binding on `session` (again, after a new session: with what is left of `count`). */
  bind(binder: ImportBinder): void {
    const old = this.outbound;
    if (old !== null) {
      this.delivered += old.acked;
      this.dispatcher.onLost(old);
    }
    this.binder = binder;
    const left = this.limit === Infinity ? -1 : this.limit - this.delivered;
    this.outbound = binder.openOutbound(this.name, this.config.size, left, this);
    this.dispatcher.attach(this.outbound);
  }

  /** Values the exporter acknowledged on earlier bindings (for `count` across sessions). */
  private delivered = 0;

  override next(value: T): void {
    if (this.isStopped || this.dispatcher.state !== 'open') {
      super.next(value); // throws the failure, or ignores a completed channel
      return;
    }
    super.next(value);
    // A count-limited import completes once it has taken `count` values.
    if (++this.accepted === this.limit) this.complete();
  }

  /** The smaller of the two sides' limits once the exporter's HELLO is in (PROTOCOL.md): a bigger value would cost the connection. */
  protected override get frameLimit(): number {
    return this.binder?.frameLimit ?? this.codec.maxFrameBytes;
  }

  // ---- SendLaneOwner ----

  onAck(out: SendLane): void {
    this.dispatcher.onAck(out);
    this.checkDone();
  }

  onWritable(out: SendLane): void {
    this.dispatcher.onWritable(out);
  }

  onLost(out: SendLane, error: NetchanError | undefined, cause: 'cancel' | 'error' | 'session'): void {
    if (out !== this.outbound) return; // a binding already replaced (a new session)
    this.delivered += out.acked;
    this.outbound = null;
    this.dispatcher.onLost(out);
    if (cause === 'cancel') {
      // The exporter hung the channel up: it takes nothing more, so what is queued is dropped.
      this.dispatcher.stop('done', null, true);
      this.settleObservers(null);
    } else if (cause === 'error') {
      // Refused or failed by the exporter: next() and drain now report it; what is queued stays pending.
      this.dispatcher.stop('errored', error ?? null);
      this.host.report(error!);
      this.settleObservers(error ?? null);
    } else if (error) {
      // The connection failed for good: queued values stay counted as pending (drain reports the failure).
      this.dispatcher.stop('closed', error);
      this.settleObservers(error);
    } else {
      // Closed cleanly (importer.close(), or the exporter said goodbye).
      this.dispatcher.stop('done', null);
      this.settleObservers(null);
    }
    this.checkDone();
  }

  private checkDone(): void {
    const s = this.dispatcher.state;
    if (s !== 'open' && s !== 'completing' && this.dispatcher.pending === 0) this.host.done(this as ImportedSendChannel<unknown>);
  }
}
