import type { NetchanError } from '../errors/NetchanError.js';
import { WireDir } from '../protocol/frame.js';
import { FrameType } from '../protocol/frame.js';
import { SendChannel, type SendQueueConfig } from './ExportedSendChannel.js';
import type { ImporterSession } from './ImporterSession.js';
import { Outbound } from './Outbound.js';
import type { Signal } from './Signal.js';

/**
 * An imported `'send'` channel: a {@link SendChannel} with one receiver, the
 * exporter's `'recv'` channel of the same name.
 * @internal
 */
export class ImportedSendChannel<T> extends SendChannel<T> {
  readonly outbound: Outbound;
  private accepted = 0;

  constructor(
    name: string,
    private readonly session: ImporterSession,
    progress: Signal,
    config: SendQueueConfig & { size: number; count: number },
    failure: () => Error | null,
    private readonly onError: (err: NetchanError) => void,
  ) {
    super(name, session.codec, progress, config, `channel "${name}"`, failure);
    const id = session.nextId();
    const limit = config.count < 0 ? Infinity : config.count;
    this.limit = limit;
    session.writer.control([FrameType.Open, id, name, WireDir.Send, config.size, config.count]);
    this.outbound = new Outbound(session, id, config.size, limit, this.dispatcher);
    session.addOutbound(this.outbound);
    this.dispatcher.attach(this.outbound);
  }

  private readonly limit: number;

  override next(value: T): void {
    if (this.isStopped || this.dispatcher.state !== 'open') return;
    super.next(value);
    // A count-limited import completes once it has taken `count` values.
    if (++this.accepted === this.limit) this.complete();
  }

  /** The smaller of the two sides' limits once the exporter's HELLO is in (PROTOCOL.md): a bigger value would cost the connection. */
  protected override get frameLimit(): number {
    return this.session.frameLimit;
  }

  /** The exporter cancelled (hangup) or errored this binding, or the connection ended. */
  ended(err?: NetchanError): void {
    if (this.isStopped && !err) return;
    // The exporter will take nothing more on this binding: what is queued or in flight is dropped.
    this.dispatcher.state = err ? 'errored' : 'done';
    this.dispatcher.lose(this.outbound);
    this.dispatcher.queue.clear();
    this.dispatcher.notify();
    if (this.isStopped) return;
    if (err) {
      this.onError(err);
      super.error(err);
    } else {
      super.complete();
    }
  }

  /** Completes observers without sending END (the connection closed cleanly). */
  closeQuietly(): void {
    this.dispatcher.state = 'done';
    if (!this.isStopped) super.complete();
  }

  /** Errors observers (the connection failed); queued values stay counted as pending. */
  fail(err: NetchanError): void {
    this.dispatcher.state = 'errored';
    if (!this.isStopped) super.error(err);
  }
}
