import type { HeldBudget } from '../channel/ExportedRecvChannel.js';
import { DecodeError } from '@msgpack/msgpack';
import { NetchanError } from '../errors/NetchanError.js';
import type { ChannelEndHooks } from '../protocol/valueExtensions.js';
import type { ValueCodec } from '../protocol/codec.js';
import type { OpenTarget, Session } from '../session/Session.js';
import { CHANNEL_END, isChannelEnd, type ChannelEnd, type EndRef } from './ChannelEnd.js';
import { PairRecvEnd, PairSendEnd } from './PairEnds.js';
import { RelaySink } from './Relay.js';
import { RemoteRecvEnd, RemoteSendEnd } from './RemoteEnds.js';

interface Entry {
  readonly end: ChannelEnd;
  bound: boolean;
}

/**
 * An endpoint's channel ends that travelled inside values, by number. An end
 * is offered when a value carrying it is encoded; the peer that receives the
 * value binds it back (an OPEN naming the number) over the session that
 * delivered it. Numbers are never reused; an entry goes once its binding ends,
 * or when it can no longer be bound (the value was discarded, delivered without
 * being bound, or the endpoint closed): then the end's partner settles.
 */
export class EndTable implements ChannelEndHooks {
  private next = 1;
  private readonly entries = new Map<number, Entry>();

  constructor(
    readonly codec: ValueCodec,
    readonly budget: HeldBudget,
  ) {}

  /** Ends waiting to be bound or bound now. */
  get size(): number {
    return this.entries.size;
  }

  isEnd(value: object): boolean {
    return isChannelEnd(value);
  }

  /** A channel end was found inside a value being encoded: it travels now. @throws NetchanError `'EPROTO'` if it already travelled. */
  offer(end: ChannelEnd): EndRef {
    end.travel();
    const id = this.next++;
    this.entries.set(id, { end, bound: false });
    if (end instanceof PairSendEnd || end instanceof PairRecvEnd) end.adoptedBy(this);
    const c = end.endConfig;
    return [end[CHANNEL_END] === 'recv' ? 0 : 1, id, c.size, c.manual ? 1 : 0];
  }

  /**
   * A reference read inside a value received over `session`: a live end of the
   * same kind, bound back at once over that session. With no session (a value
   * that never left this process, through a local pair) the end itself comes back.
   */
  materialize(ref: unknown, session: unknown): ChannelEnd {
    if (!Array.isArray(ref) || ref.length !== 4) throw new DecodeError('channel end: expected [kind, id, size, manual]');
    const [kind, id, size, manual] = ref as unknown[];
    if ((kind !== 0 && kind !== 1) || !isCount(id) || !isCount(size) || size < 1 || (manual !== 0 && manual !== 1)) {
      throw new DecodeError('channel end: malformed reference');
    }
    if (session === null) {
      const entry = this.entries.get(id);
      if (entry === undefined || entry.bound) throw new DecodeError(`channel end ${id}: unknown here`);
      this.entries.delete(id);
      entry.end.stayed();
      return entry.end;
    }
    const config = { size, manual: manual === 1 };
    // The sender wrote its own kind: an Observable end (0) is received here; a SendChannel end (1) is sent into.
    return kind === 0 ? new RemoteRecvEnd(session as Session, id, config, this.budget) : new RemoteSendEnd(session as Session, id, config);
  }

  /** A peer binds end `id`; `dir` is this side's part. @throws NetchanError `'ENOCHAN'` or `'EPROTO'` to refuse. */
  resolve(id: number, dir: 'send' | 'recv', session: Session): OpenTarget {
    const entry = this.entries.get(id);
    if (entry === undefined) throw new NetchanError('ENOCHAN', `channel end ${id} is gone (released, or never offered)`);
    if (entry.bound) throw new NetchanError('EPROTO', `channel end ${id} is already bound`);
    const end = entry.end;
    const kind = end[CHANNEL_END];
    // The peer holds the other kind: it received the Observable end, so it receives (this side sends), and vice versa.
    if ((kind === 'recv') !== (dir === 'send')) throw new NetchanError('EDIR', `channel end ${id}: wrong direction`);
    entry.bound = true;
    const release = () => this.entries.delete(id);
    void session;
    if (end instanceof PairRecvEnd) {
      const send = end.partner;
      return { dir: 'send', owner: send, attach: (out) => send.bindLane(out, release) };
    }
    if (end instanceof PairSendEnd) {
      const recv = end.partner;
      if (!recv.hasTravelled) return { dir: 'recv', sink: recv.sink, attach: (inb) => recv.bindRemote(inb, release) };
      // Both ends of the pair travelled: this process relays between them.
      return { dir: 'recv', sink: new RelaySink(end.relayTarget(release)), attach: () => {} };
    }
    if (end instanceof RemoteSendEnd) return { dir: 'recv', sink: new RelaySink(end.relayTarget(release)), attach: () => {} };
    if (end instanceof RemoteRecvEnd) {
      const relay = end.forward(this.codec, release);
      return { dir: 'send', owner: relay, attach: (out) => relay.bindLane(out) };
    }
    throw new NetchanError('ENOCHAN', `channel end ${id}: not a kind this side can bind`);
  }

  /** The value that carried end `id` was discarded, or delivered without the end being bound: it never will be. */
  orphan(id: number, error: NetchanError): void {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.bound) return;
    this.entries.delete(id);
    entry.end.orphaned(error);
  }

  /** The endpoint closed: every end not bound settles. */
  close(error: NetchanError): void {
    for (const [id, entry] of [...this.entries]) if (!entry.bound) this.orphan(id, error);
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
