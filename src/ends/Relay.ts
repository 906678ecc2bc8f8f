import type { Dispatcher } from '../channel/Dispatcher.js';
import type { RecvLane, RecvSink } from '../channel/Lane.js';
import { NetchanError } from '../errors/NetchanError.js';
import type { ValueCodec } from '../protocol/codec.js';

/** Where a relay puts what it receives: a channel's queue, and its end. */
export interface RelayTarget {
  readonly name: string;
  readonly dispatcher: Dispatcher;
  readonly codec: ValueCodec;
  complete(): void;
  error(err: NetchanError): void;
}

/**
 * Forwards a channel end onward (libchan's Copy): what arrives on one lane is
 * queued on another channel, and acknowledged as soon as that queue has room
 * (acknowledgements are hop by hop), so a slow receiver at the far end holds
 * the sender back through the bounded queue in between.
 */
export class RelaySink implements RecvSink {
  private held: Array<{ lane: RecvLane; seq: number }> = [];
  private stopListening: (() => void) | null = null;

  constructor(private readonly target: RelayTarget) {}

  value(value: unknown, seq: number, lane: RecvLane): boolean {
    const t = this.target;
    t.dispatcher.push(t.codec.encode(value, t.name));
    if (this.held.length === 0 && t.dispatcher.capacity > 0) lane.ack(seq);
    else this.hold(lane, seq);
    return true;
  }

  end(): void {
    this.stop();
    this.target.complete();
  }

  error(error: NetchanError): void {
    this.stop();
    this.target.error(error);
  }

  lost(_lane: RecvLane, error: NetchanError | undefined): void {
    this.stop();
    if (error) this.target.error(new NetchanError('ECLOSED', `relayed channel end lost: ${error.message}`, { cause: error }));
    else this.target.complete();
  }

  private hold(lane: RecvLane, seq: number): void {
    this.held.push({ lane, seq });
    this.stopListening ??= this.target.dispatcher.room.listen(() => {
      while (this.held.length > 0 && this.target.dispatcher.capacity > 0) {
        const h = this.held.shift()!;
        h.lane.ack(h.seq);
      }
      if (this.held.length === 0) this.stop();
    });
  }

  private stop(): void {
    this.stopListening?.();
    this.stopListening = null;
  }
}
