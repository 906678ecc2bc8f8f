import type { SendLane, SendLaneOwner } from '../channel/Lane.js';
import { SendChannel } from '../channel/SendChannel.js';
import { NetchanError } from '../errors/NetchanError.js';
import type { Session } from '../session/Session.js';
import { Signal } from '../util/Signal.js';
import { CHANNEL_END, type ChannelEnd, type EndConfig } from './ChannelEnd.js';
import { EndReceiver } from './EndReceiver.js';
import type { HeldBudget } from '../channel/ExportedRecvChannel.js';
import type { ValueCodec } from '../protocol/codec.js';
import { DEFAULT_QUEUE_LIMIT } from '../protocol/limits.js';
import type { Inbound } from '../session/Inbound.js';
import { RelaySink, type RelayTarget } from './Relay.js';

/**
 * The sending side of a forwarded receiving end: a queue fed by a relay, whose
 * one lane goes to the peer the end was forwarded to. When that peer lets go,
 * the upstream lane is cancelled too.
 * @internal
 */
export class RelaySend extends SendChannel<unknown> implements SendLaneOwner {
  private lane: SendLane | null = null;

  constructor(
    name: string,
    codec: ValueCodec,
    queueLimit: number,
    private readonly upstreamGone: () => void,
    private readonly release: () => void,
  ) {
    super(name, codec, new Signal(), { queueLimit }, `channel ${name}`);
  }

  bindLane(lane: SendLane): void {
    this.lane = lane;
    this.dispatcher.attach(lane);
  }

  onAck(lane: SendLane): void {
    this.dispatcher.onAck(lane);
    if (lane.state === 'gone') this.release();
  }

  onWritable(lane: SendLane): void {
    this.dispatcher.onWritable(lane);
  }

  onLost(lane: SendLane): void {
    if (lane !== this.lane) return;
    this.lane = null;
    this.release();
    this.dispatcher.onLost(lane);
    this.dispatcher.stop('closed', new NetchanError('ECLOSED', `${this.name}: the receiving end let go`), true);
    this.upstreamGone();
  }
}

/**
 * A sending end that arrived inside a value: `next()` sends to the receiving
 * end that stayed with the sender of the value, over a binding opened back
 * on the same session at once (so the owner learns the end is in use).
 */
export class RemoteSendEnd<T> extends SendChannel<T> implements ChannelEnd, SendLaneOwner {
  readonly [CHANNEL_END] = 'send' as const;
  private lane: SendLane | null;
  private travelled = false;

  constructor(
    private readonly session: Session,
    readonly ref: number,
    readonly endConfig: EndConfig,
  ) {
    super(`end ${ref}`, session.codec, new Signal(), {}, `channel end ${ref}`);
    this.lane = session.openOutbound(ref, endConfig.size, -1, this);
    this.dispatcher.attach(this.lane);
  }

  override next(value: T): void {
    if (this.travelled) throw new NetchanError('EPROTO', `channel end ${this.ref} travelled on; use it where it went`);
    super.next(value);
  }

  /** Values are checked against the receiving peer's frame limit. */
  protected override get frameLimit(): number {
    return this.session.frameLimit;
  }

  travel(): void {
    if (this.travelled) throw new NetchanError('EPROTO', `channel end ${this.ref}: a channel end can travel once; this one already did`);
    this.travelled = true;
  }

  stayed(): void {
    this.travelled = false;
  }

  orphaned(error: NetchanError): void {
    void error;
    this.complete();
  }

  /** @internal Forwarded: what arrives from the remote end it was forwarded to is sent on here. */
  relayTarget(release: () => void): RelayTarget {
    this.released = release;
    return {
      name: this.name,
      dispatcher: this.dispatcher,
      codec: this.codec,
      complete: () => this.dispatcher.complete(),
      error: (e) => this.error(e),
    };
  }

  private released: (() => void) | null = null;

  onAck(lane: SendLane): void {
    this.dispatcher.onAck(lane);
  }

  onWritable(lane: SendLane): void {
    this.dispatcher.onWritable(lane);
  }

  onLost(lane: SendLane, error: NetchanError | undefined, cause: 'cancel' | 'error' | 'session'): void {
    if (lane !== this.lane) return;
    this.lane = null;
    this.released?.();
    this.released = null;
    this.dispatcher.onLost(lane);
    if (cause === 'cancel') {
      // The receiving end let go: nothing more can be sent.
      this.dispatcher.stop('closed', new NetchanError('ECLOSED', `channel end ${this.ref}: the receiving end let go`), true);
      this.settleObservers(null);
    } else {
      const err = cause === 'session' ? new NetchanError('ECLOSED', `channel end ${this.ref}: the connection ended`, { cause: error }) : error!;
      this.dispatcher.stop('errored', err);
      this.settleObservers(err);
    }
  }
}

/**
 * A receiving end that arrived inside a value: an Observable (one
 * subscription) of what the sending end that stayed with the sender sends.
 * Its binding is opened back at once; what arrives before the subscription is
 * held, bounded by the window.
 */
export class RemoteRecvEnd<T> extends EndReceiver<T> implements ChannelEnd {
  readonly [CHANNEL_END] = 'recv' as const;
  private readonly inbound: Inbound;

  constructor(
    session: Session,
    readonly ref: number,
    readonly endConfig: EndConfig,
    budget: HeldBudget | null,
  ) {
    super(endConfig.manual, () => budget);
    this.inbound = session.openInbound(ref, endConfig.size, -1, this);
    this.lane = this.inbound;
  }

  /**
   * @internal Forwarded: a peer further on binds to receive. From now on what
   * arrives here is queued on a relay channel for it (what is held goes first).
   */
  forward(codec: ValueCodec, release: () => void): RelaySend {
    const relay = new RelaySend(`end ${this.ref}`, codec, Math.max(DEFAULT_QUEUE_LIMIT, this.endConfig.size), () => this.inbound.cancel(), release);
    const sink = new RelaySink({ name: relay.name, dispatcher: relay.dispatcher, codec, complete: () => relay.complete(), error: (e) => relay.error(e) });
    for (const h of this.takeHeld()) sink.value(h.value, h.seq, h.lane);
    this.inbound.sink = sink;
    return relay;
  }

  protected get endLabel(): string {
    return `channel end ${this.ref}`;
  }

  orphaned(error: NetchanError): void {
    this.lane?.cancel();
    void error;
  }

  protected onSubscribe(): void {}
  protected onRelease(): void {}
}
