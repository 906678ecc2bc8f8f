import type { RecvLane, RecvSink } from '../channel/Lane.js';
import type { NetchanError } from '../errors/NetchanError.js';

type Held =
  | { kind: 'value'; value: unknown; seq: number; bytes: number }
  | { kind: 'end' }
  | { kind: 'error'; error: NetchanError };

/**
 * Where a receiving binding delivers while its target is not known yet (an
 * asynchronous `authorize`): values, the end and an error wait here, in order,
 * unacknowledged, so the sender's window bounds them. Once the target is known
 * they are replayed into it.
 */
export class HoldingSink implements RecvSink {
  private held: Held[] = [];
  private lostNow = false;

  /** The binding was lost (its session ended, or it was refused): nothing will be replayed. */
  get isLost(): boolean {
    return this.lostNow;
  }

  value(value: unknown, seq: number, _lane: RecvLane, bytes: number): boolean {
    this.held.push({ kind: 'value', value, seq, bytes });
    return true;
  }

  end(): void {
    this.held.push({ kind: 'end' });
  }

  error(error: NetchanError): void {
    this.held.push({ kind: 'error', error });
  }

  lost(): void {
    this.lostNow = true;
    this.held = [];
  }

  /** Hands what waited to `sink`, in order; `overflow` if the sink cannot hold a value (it then stops). */
  replay(sink: RecvSink, lane: RecvLane, overflow: () => void): void {
    const held = this.held;
    this.held = [];
    for (const h of held) {
      if (h.kind === 'end') sink.end(lane);
      else if (h.kind === 'error') sink.error(h.error, lane);
      else if (sink.value(h.value, h.seq, lane, h.bytes) === false) return overflow();
    }
  }
}
