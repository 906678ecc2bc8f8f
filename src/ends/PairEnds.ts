import type { RecvLane, SendLane, SendLaneOwner } from '../channel/Lane.js';
import { SendChannel, type SendQueueConfig } from '../channel/SendChannel.js';
import { NetchanError } from '../errors/NetchanError.js';
import { ValueCodec } from '../protocol/codec.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/limits.js';
import { Signal } from '../util/Signal.js';
import { CHANNEL_END, type ChannelEnd, type EndConfig } from './ChannelEnd.js';
import { EndReceiver } from './EndReceiver.js';
import { LocalLane } from './LocalLane.js';
import type { RelayTarget } from './Relay.js';
import type { HeldBudget } from '../channel/ExportedRecvChannel.js';
import type { StandardSchemaV1 } from '../channel/StandardSchema.js';

/** Codec for values that never leave the process (a pair used locally). */
let localCodec: ValueCodec | null = null;
const codecForLocal = (): ValueCodec => (localCodec ??= new ValueCodec(DEFAULT_MAX_FRAME_BYTES));

/** What the two ends of one pair share. */
export class PairCore {
  send!: PairSendEnd<unknown>;
  recv!: PairRecvEnd<unknown>;
  /** The endpoint table the pair's ends travelled through: its held-bytes budget applies. */
  budget: HeldBudget | null = null;

  constructor(
    readonly name: string,
    readonly endConfig: EndConfig,
    /** The receiving end's schema: it applies where the pair was made (a schema cannot travel). */
    readonly schema?: StandardSchemaV1,
  ) {}
}

/**
 * The sending end of a channel pair: a {@link SendChannel} whose queue feeds
 * the receiving end, here (a local lane) or wherever it travelled (a binding
 * opened back over the connection that carried it). Once the receiving end is
 * released (it completed, failed, or was unsubscribed), `next()` throws
 * `'ECLOSED'` and observers complete.
 */
export class PairSendEnd<T> extends SendChannel<T> implements ChannelEnd, SendLaneOwner {
  readonly [CHANNEL_END] = 'send' as const;
  private travelled = false;
  private adopted = false;
  private lane: SendLane | null = null;
  private released: (() => void) | null = null;

  constructor(
    private readonly core: PairCore,
    config: SendQueueConfig,
  ) {
    super(core.name, codecForLocal(), new Signal(), config, `channel "${core.name}"`);
  }

  get endConfig(): EndConfig {
    return this.core.endConfig;
  }

  /** True once this end was sent away. */
  get hasTravelled(): boolean {
    return this.travelled;
  }

  /** The receiving end of this pair. */
  get partner(): PairRecvEnd<unknown> {
    return this.core.recv;
  }

  /**
   * @internal One of the pair's ends travelled through an endpoint: values are
   * encoded with its codec from now on (its extensions, and ends inside values),
   * and what its receiving end holds counts against the endpoint's budget.
   */
  adoptedBy(table: { codec: ValueCodec; budget: HeldBudget }): void {
    this.core.budget ??= table.budget;
    if (this.adopted) return;
    this.adopted = true;
    this.codec = table.codec;
  }

  /** @internal Both ends travelled: what arrives from the remote sending end is queued here, for the remote receiving end. */
  relayTarget(release: () => void): RelayTarget {
    this.released = release;
    return {
      name: this.core.name,
      dispatcher: this.dispatcher,
      codec: this.codec,
      complete: () => this.dispatcher.complete(),
      error: (e) => this.receiverGone(e),
    };
  }

  override next(value: T): void {
    if (this.travelled) throw new NetchanError('EPROTO', `${this.core.name}: this end travelled to another process; use it there`);
    super.next(value);
  }

  travel(): void {
    if (this.travelled) throw new NetchanError('EPROTO', `${this.core.name}: a channel end can travel once; this one already did`);
    this.travelled = true;
    // The receiving end may be subscribed here already (request() does that first): its local
    // lane gives way to the binding the remote holder of this end will open.
    const lane = this.lane;
    if (lane instanceof LocalLane) {
      this.lane = null;
      lane.release();
      this.dispatcher.onLost(lane);
      this.core.recv.unbindLocal(lane);
    }
  }

  stayed(): void {
    this.travelled = false;
    this.core.recv.rebindLocal();
  }

  orphaned(error: NetchanError): void {
    this.core.recv.orphanFrom(error);
  }

  /** @internal The codec values are encoded with now. */
  get valueCodec(): ValueCodec {
    return this.codec;
  }

  /** @internal The receiving end (here or remote) binds: values flow through `lane`; `release` once it is over. */
  bindLane(lane: SendLane, release?: () => void): void {
    if (this.lane !== null) throw new NetchanError('EPROTO', `${this.core.name}: channel end already bound`);
    this.lane = lane;
    if (release) this.released = release;
    this.dispatcher.attach(lane);
  }

  private release(): void {
    const r = this.released;
    this.released = null;
    r?.();
  }

  /** @internal The receiving end let go, or could not be reached: nothing more can be sent. */
  receiverGone(error: NetchanError | null): void {
    this.dispatcher.stop(error ? 'errored' : 'closed', error ?? new NetchanError('ECLOSED', `${this.core.name}: the receiving end let go`), true);
    this.settleObservers(error);
  }

  // ---- SendLaneOwner (the lane to the receiving end) ----

  onAck(lane: SendLane): void {
    this.dispatcher.onAck(lane);
    if (lane.state === 'gone') this.release(); // finished: every value acknowledged after the end
  }

  onWritable(lane: SendLane): void {
    this.dispatcher.onWritable(lane);
  }

  onLost(lane: SendLane, error: NetchanError | undefined, cause: 'cancel' | 'error' | 'session'): void {
    if (lane !== this.lane) return;
    this.lane = null;
    this.release();
    this.dispatcher.onLost(lane);
    if (cause === 'cancel') this.receiverGone(null);
    else this.receiverGone(cause === 'session' ? new NetchanError('ECLOSED', `${this.core.name}: the connection to the receiving end ended`, { cause: error }) : (error ?? null));
  }
}

/** The receiving end of a channel pair: an Observable with exactly one subscription. */
export class PairRecvEnd<T> extends EndReceiver<T> implements ChannelEnd {
  readonly [CHANNEL_END] = 'recv' as const;
  private released: (() => void) | null = null;

  constructor(private readonly core: PairCore) {
    super(core.endConfig.manual, () => core.budget, core.schema, core.name);
  }

  get endConfig(): EndConfig {
    return this.core.endConfig;
  }

  protected get endLabel(): string {
    return this.core.name;
  }

  /** The sending end of this pair. */
  get partner(): PairSendEnd<unknown> {
    return this.core.send;
  }

  /** @internal See PairSendEnd.adoptedBy. */
  adoptedBy(table: { codec: ValueCodec; budget: HeldBudget }): void {
    this.core.send.adoptedBy(table);
  }

  /** A pair's receiving end that already has a lane (its sending end is bound here) stays: relaying both ways is for ends that travelled first. */
  override travel(): void {
    if (this.lane !== null) throw new NetchanError('EPROTO', `${this.core.name}: this end is bound here; it cannot travel`);
    super.travel();
  }

  orphaned(error: NetchanError): void {
    this.core.send.receiverGone(error);
  }

  /** @internal The sending end travelled and its holder bound back: values arrive on `lane`; `release` once it is over. */
  bindRemote(lane: RecvLane, release: () => void): void {
    if (this.lane !== null) throw new NetchanError('EPROTO', `${this.core.name}: channel end already bound`);
    this.lane = lane;
    this.released = release;
  }

  /** @internal The sending end travelled: the local lane it had is gone. */
  unbindLocal(lane: LocalLane): void {
    if (this.lane === lane) this.lane = null;
  }

  /** @internal The sending end came back (its value never left the process): a local lane again, if subscribed. */
  rebindLocal(): void {
    if (this.lane === null && this.isSubscribed) this.onSubscribe();
  }

  /** @internal The sending end's value was lost before anyone bound it. */
  orphanFrom(error: NetchanError): void {
    this.orphan(error);
  }

  protected onSubscribe(): void {
    // Both ends here: a lane inside the process.
    const send = this.core.send;
    if (!send.hasTravelled) {
      const lane = new LocalLane(this.core.name, this.core.endConfig.size, send.valueCodec, send, this.sink);
      this.lane = lane;
      send.bindLane(lane);
    }
  }

  protected onRelease(): void {
    const r = this.released;
    this.released = null;
    r?.();
  }
}

