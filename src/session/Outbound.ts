import type { LaneState, SendLane, SendLaneOwner } from '../channel/Lane.js';
import { DATA_HEADER_MAX, encodedLength } from '../protocol/codec.js';
import { MAX_INFLIGHT_BYTES } from '../protocol/limits.js';
import { CONNECTION_INFLIGHT_BYTES, type AdaptiveWindow } from './AdaptiveWindow.js';
import { PayloadLog } from './PayloadLog.js';
import type { Session } from './Session.js';

/**
 * The sending side of one binding: its window, the values in flight, and the
 * cumulative sequence numbers. Values in flight are kept until acknowledged:
 * they are what a resumed session sends again, and what goes back to the queue
 * if the binding is lost.
 *
 * The window is fixed (`size`), or adaptive (`size` left unset): then
 * {@link AdaptiveWindow} moves it between its start and the receiver's cap, and
 * the connection's bytes in flight bound its growth.
 */
export class Outbound implements SendLane {
  state: LaneState = 'open';
  /** Values written on this binding (the last one's sequence number). */
  sent = 0;
  /** Highest cumulative acknowledgement received. */
  acked = 0;
  /** The values written and not yet acknowledged, oldest first. */
  readonly inflight = new PayloadLog();
  /** Bytes of the values in flight. */
  inflightBytes = 0;

  constructor(
    readonly session: Session,
    readonly id: number,
    readonly channel: string,
    /** The fixed window, or an adaptive window's start. */
    private readonly size: number,
    /** Most values this binding may ever carry (`count`), or Infinity. */
    readonly limit: number,
    readonly owner: SendLaneOwner,
    /** Set when the window adapts. */
    readonly adaptive: AdaptiveWindow | null = null,
  ) {}

  /** The window now, in values. */
  get window(): number {
    return this.adaptive === null ? this.size : this.adaptive.size;
  }

  /** Values this binding may write now. */
  get credit(): number {
    if (this.state !== 'open' || !this.session.canSend) return 0;
    const unacked = this.sent - this.acked;
    // Besides the receiver's window (a count), keep the bytes in flight bounded
    // so a large window of large values cannot pile up in memory (the receiver enforces it).
    if (this.inflightBytes >= MAX_INFLIGHT_BYTES && unacked > 0) return 0;
    let window = this.window;
    // A window that has grown falls back to its start while the connection carries its byte budget.
    if (window > this.size && this.session.inflightBytes >= CONNECTION_INFLIGHT_BYTES) window = this.size;
    return Math.min(window - unacked, this.limit - this.sent);
  }

  /**
   * What the channel's queue says about growing this window: `'pays'` when
   * values wait in it (no binding had window for them) and this is its only
   * receiver; `'shared'` when several receivers take from it (a work queue: a
   * window that grew would take values from the others, so windows stay at
   * their start); else `'idle'`. An owner that cannot say counts as a sole
   * receiver with values waiting.
   */
  private get queue(): 'pays' | 'shared' | 'idle' {
    const { queued, receivers = 1 } = this.owner;
    if (receivers > 1) return 'shared';
    return queued === undefined || queued > 0 ? 'pays' : 'idle';
  }

  get unacked(): number {
    return this.sent - this.acked;
  }

  /** Largest encoded value this binding's receiver accepts. */
  get frameLimit(): number {
    return this.session.frameLimit;
  }

  /** True when `payload` fits in one frame for this receiver. */
  fits(payload: Uint8Array): boolean {
    return encodedLength(payload) + DATA_HEADER_MAX <= this.frameLimit;
  }

  send(payload: Uint8Array): void {
    this.inflight.push(payload);
    this.inflightBytes += payload.length;
    this.session.inflightBytes += payload.length;
    const seq = ++this.sent;
    this.adaptive?.sent(seq, seq - this.acked, this.session);
    this.session.writeData(this, payload);
    if (seq === this.limit) this.state = 'ended'; // count reached: the receiver completes by itself
  }

  /** Applies a cumulative acknowledgement; false if it acknowledges values never sent. */
  ack(seq: number): boolean {
    if (seq <= this.acked) return true;
    if (seq > this.sent) return false;
    const bytes = this.inflight.drop(seq - this.acked);
    this.inflightBytes -= bytes;
    this.session.inflightBytes -= bytes;
    this.acked = seq;
    const a = this.adaptive;
    if (a !== null) {
      a.limitTo(this.session.peerMaxWindow);
      const queue = this.queue;
      if (queue === 'shared') a.share();
      a.acked(seq, this.session.now(), queue === 'pays' && this.session.inflightBytes < CONNECTION_INFLIGHT_BYTES);
    }
    return true;
  }

  /** No more values: END after those written; released once everything is acknowledged. */
  end(): void {
    if (this.state !== 'open') return; // `count` reached (the receiver completes by itself), refused or gone
    this.state = 'ended';
    this.session.endOutbound(this);
  }

  /**
   * The next value is larger than this receiver accepts: fail the binding with
   * 'ETOOBIG' (the value stays queued for another receiver). It ends once the
   * receiver's CANCEL tells what it delivered.
   */
  refuse(payload: Uint8Array): void {
    if (this.state !== 'open') return;
    this.state = 'ended';
    this.session.failOutbound(this, {
      code: 'ETOOBIG',
      message: `channel "${this.channel}": a value of ${payload.length + DATA_HEADER_MAX} bytes (with header) > this receiver's maxFrameBytes (${this.frameLimit})`,
    });
  }

  /** True once no more values will be written and every one has been acknowledged. */
  get finished(): boolean {
    return this.state === 'ended' && this.sent === this.acked;
  }

  fail(error: { code: string; message: string }): void {
    this.session.failOutbound(this, error);
    this.session.releaseOutbound(this);
  }

  release(): void {
    this.session.releaseOutbound(this);
  }

  takeUnacked(): Uint8Array[] {
    this.session.inflightBytes -= this.inflightBytes;
    this.inflightBytes = 0;
    return this.inflight.takeAll();
  }
}
