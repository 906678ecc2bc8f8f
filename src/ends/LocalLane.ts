import type { LaneState, RecvLane, RecvSink, SendLane, SendLaneOwner } from '../channel/Lane.js';
import { NetchanError } from '../errors/NetchanError.js';
import type { ValueCodec } from '../protocol/codec.js';
import { Deque } from '../util/Deque.js';

/**
 * A lane inside one process: from a channel pair's queue straight to its
 * receiving end, with the same window and acknowledgements as a binding over
 * a connection (so drain, sync and backpressure mean the same), minus the
 * wire. Each value is decoded from its encoded copy, as a remote receiver
 * would: later changes to the object sent do not travel here either.
 */
export class LocalLane implements SendLane, RecvLane {
  state: LaneState = 'open';
  sent = 0;
  acked = 0;
  private ackable = 0;
  private readonly inflight = new Deque<Uint8Array>();
  private early: Set<number> | null = null;
  private delivered = 0;
  private delivering = false;
  /** Values sent while a delivery is running (a reentrant next()): delivered after it, in order. */
  private readonly backlog = new Deque<Uint8Array>();

  constructor(
    readonly channel: string,
    readonly window: number,
    private readonly codec: ValueCodec,
    private readonly owner: SendLaneOwner,
    private readonly sink: RecvSink,
  ) {}

  get credit(): number {
    return this.state === 'open' ? this.window - (this.sent - this.acked) : 0;
  }

  get unacked(): number {
    return this.sent - this.acked;
  }

  get finished(): boolean {
    return this.state === 'ended' && this.sent === this.acked;
  }

  fits(): boolean {
    return true;
  }

  send(payload: Uint8Array): void {
    this.inflight.push(payload);
    this.sent++;
    // A value sent from inside a delivery (a reentrant next()) waits for that delivery to return.
    if (this.delivering) {
      this.backlog.push(payload);
      return;
    }
    this.delivering = true;
    try {
      for (let p: Uint8Array | undefined = payload; p !== undefined; p = this.backlog.shift()) this.deliver(p, ++this.delivered);
    } finally {
      this.delivering = false;
    }
  }

  refuse(): void {}

  end(): void {
    if (this.state !== 'open') return;
    this.state = 'ended';
    this.sink.end(this);
    this.owner.onAck(this);
  }

  fail(error: { code: string; message: string }): void {
    if (this.state === 'gone') return;
    this.state = 'gone';
    this.sink.error(new NetchanError(error.code as NetchanError['code'], error.message), this);
  }

  release(): void {
    this.state = 'gone';
  }

  takeUnacked(): Uint8Array[] {
    return this.inflight.drainAll();
  }

  // ---- RecvLane ----

  ack(seq: number): void {
    if (this.state === 'gone' || seq <= this.ackable || seq > this.sent) return;
    if (seq !== this.ackable + 1) {
      (this.early ??= new Set()).add(seq);
      return;
    }
    this.ackable = seq;
    while (this.early?.delete(this.ackable + 1)) this.ackable++;
    for (let n = this.ackable - this.acked; n > 0; n--) this.inflight.shift();
    this.acked = this.ackable;
    this.owner.onAck(this);
  }

  cancel(): void {
    if (this.state === 'gone') return;
    this.state = 'gone';
    this.owner.onLost(this, undefined, 'cancel');
  }

  private deliver(payload: Uint8Array, seq: number): void {
    if (this.state === 'gone') return;
    this.sink.value(this.codec.decode(payload, this.channel), seq, this, payload.length);
  }
}
