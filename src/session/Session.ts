import { NetchanError } from '../errors/NetchanError.js';
import type { ValueCodec } from '../protocol/codec.js';
import { FrameType, WireDir } from '../protocol/frame.js';
import { ControlLog } from './ControlLog.js';
import type { RecvSink, SendLaneOwner } from '../channel/Lane.js';
import { ADAPTIVE_MAX, ADAPTIVE_START, AdaptiveWindow, AUTO_WINDOW } from './AdaptiveWindow.js';
import { Inbound } from './Inbound.js';
import { Outbound } from './Outbound.js';

/** What a peer's OPEN binds to on this side: a queue that sends (`'send'`), or a sink that receives (`'recv'`). */
export type OpenTarget =
  | { readonly dir: 'send'; readonly owner: SendLaneOwner; attach(out: Outbound): void }
  | { readonly dir: 'recv'; readonly sink: RecvSink; attach(inb: Inbound): void };

/** What a session needs from its endpoint (Exporter or Importer). */
export interface SessionHost {
  readonly codec: ValueCodec;
  /** Largest window the peer may ask for in an OPEN. */
  readonly maxWindow: number;
  /** Most bindings the session may hold. */
  readonly maxBindings: number;
  /**
   * What the peer's OPEN of `name` binds to; `dir` is this side's part
   * (`'send'`: the peer receives). Throws a NetchanError to refuse the binding
   * (`'ENOCHAN'`, `'EDIR'`, `'EAUTH'`, …).
   */
  resolve(session: Session, name: unknown, dir: 'send' | 'recv'): OpenTarget;
  /** A binding-level problem worth reporting on `errors$`. */
  report(err: NetchanError): void;
}

/** How a session writes frames: the link's batching writer. */
export interface FrameSink {
  data(id: number, payload: Uint8Array): void;
  ack(id: number, seq: number): void;
  /** True on a real-time transport (TCP, TLS, WebSocket), false on the virtual ones of marble tests. */
  readonly realTime: boolean;
  control(frame: readonly unknown[]): void;
  /** Makes sure a flush happens at the end of this tick. */
  schedule(): void;
  /** Writes what is batched now. */
  flush(): void;
}

/** What a session needs from the link (connection) it is attached to. */
export interface SessionLink {
  readonly writer: FrameSink;
  /** The transport's send buffer is over its high-water mark: hold values and acknowledgements. */
  readonly congested: boolean;
  readonly remote: string;
  readonly peerMaxFrameBytes: number;
  /** Largest window the peer's HELLO said it accepts (`maxWindow`); 0 from a peer that adapts no window. */
  readonly peerMaxWindow: number;
  /** Largest window this side's HELLO announced: what it enforces on adaptive windows the peer opens. */
  readonly maxWindow: number;
  /** The endpoint scheduler's clock, ms (virtual in marble tests). */
  now(): number;
}

/** `'attached'`: a link carries frames. `'detached'`: between links (the peer may resume). `'closed'`: over. */
export type SessionState = 'attached' | 'detached' | 'closed';

/**
 * One peer's bindings, kept across connections. A {@link SessionLink} carries
 * the frames; the session owns the binding table (both directions, opened by
 * either side: the dialer's ids are odd, the listener's even), the reliable
 * frames (OPEN, END, CANCEL, binding ERROR: numbered, kept until the peer's
 * RECEIPT), and the acknowledgements. When a link drops, the session detaches:
 * values in flight stay in their bindings, so a resume sends again exactly what
 * the peer did not get, and the peer drops what it already had, by sequence.
 */
export class Session {
  state: SessionState = 'detached';
  link: SessionLink | null = null;
  /** Session id and resume token, once the listener has issued them (resumable sessions only). */
  id: string | null = null;
  token: string | null = null;
  readonly codec: ValueCodec;
  readonly bindings = new Map<number, Inbound | Outbound>();
  readonly log = new ControlLog();
  /** Frame limit of the peer, as its last HELLO announced. */
  peerMaxFrameBytes: number;
  /** Bytes of values in flight on all this session's sending bindings (adaptive windows stop growing past a budget). */
  inflightBytes = 0;
  /** The peer as its last link named it. */
  remote = '';
  private lastNow = 0;
  private nextId: number;
  private highestPeerId = 0;
  private ackQueue: Inbound[] = [];
  private receiptDue = false;

  constructor(
    private readonly host: SessionHost,
    readonly role: 'dialer' | 'listener',
  ) {
    this.codec = host.codec;
    this.peerMaxFrameBytes = host.codec.maxFrameBytes;
    this.nextId = role === 'dialer' ? 1 : 2;
  }

  /** True when values may be written now. */
  get canSend(): boolean {
    return this.state === 'attached' && !this.link!.congested;
  }

  /** Largest value payload this session can carry. */
  get frameLimit(): number {
    return Math.min(this.codec.maxFrameBytes, this.link?.peerMaxFrameBytes ?? this.peerMaxFrameBytes);
  }

  /** Bindings open now. */
  get size(): number {
    return this.bindings.size;
  }

  /** Largest window the peer accepts, as its HELLO announced (0: it adapts no window, or has not said yet). */
  get peerMaxWindow(): number {
    return this.link?.peerMaxWindow ?? 0;
  }

  /** The link's clock (the last reading while detached). */
  now(): number {
    if (this.link !== null) this.lastNow = this.link.now();
    return this.lastNow;
  }

  // ---- links ----

  /**
   * Starts using `link`. `resume` is the count of reliable frames the peer
   * says it received (a resumed session), or null for a fresh one: then the
   * frames it missed, the acknowledgement state and the values in flight are
   * written again, and sending goes on.
   */
  attach(link: SessionLink, resume: number | null): void {
    this.link = link;
    this.state = 'attached';
    this.remote = link.remote;
    const w = link.writer;
    if (resume !== null) {
      this.log.receipt(resume);
      for (const frame of this.log.pending()) w.control(frame);
      for (const b of this.bindings.values()) {
        if (b instanceof Inbound) {
          b.ackQueued = false;
          const n = b.takeAck() || b.acked;
          if (n > 0) w.ack(b.id, n);
        } else if (b.sent > b.acked) {
          b.adaptive?.reset(); // a new link: new round-trip times
          w.control([FrameType.Replay, b.id, b.acked + 1, b.sent]);
          b.inflight.forEach((payload) => w.data(b.id, payload));
        }
      }
      this.ackQueue = [];
    }
    this.writable();
  }

  /** The link dropped; the bindings wait for a resume. */
  detach(): void {
    if (this.state !== 'attached') return;
    this.peerMaxFrameBytes = this.link!.peerMaxFrameBytes;
    this.now();
    this.link = null;
    this.state = 'detached';
    for (const inb of this.ackQueue) inb.ackQueued = false;
    this.ackQueue = [];
  }

  /** The link can carry values again (attached, or its socket drained): acknowledgements and values go out. */
  writable(): void {
    if (!this.canSend) return;
    if (this.ackQueue.length > 0) this.link!.writer.schedule();
    for (const b of [...this.bindings.values()]) if (b instanceof Outbound && b.state === 'open') b.owner.onWritable(b);
  }

  /**
   * The session is over: every binding is lost (values in flight go back to
   * their queues; receivers error with `error`, or complete when it is unset).
   */
  close(error?: NetchanError): void {
    if (this.state === 'closed') return;
    const bindings = [...this.bindings.values()];
    this.abandon();
    for (const b of bindings) {
      if (b instanceof Outbound) {
        b.state = 'gone';
        b.owner.onLost(b, error, 'session');
      } else {
        b.state = 'gone';
        b.sink.lost(b, error);
      }
    }
  }

  /** Forgets everything without telling the bindings' owners (they are being moved to a new session). */
  abandon(): void {
    this.state = 'closed';
    this.link = null;
    this.bindings.clear();
    this.ackQueue = [];
    this.log.reset();
  }

  // ---- bindings this side opens ----

  /**
   * Opens a binding on which this side receives the peer's channel `name` (a
   * channel end's number, for an end inside a value). `window`
   * {@link AUTO_WINDOW} (the user left `size` unset) lets the sender adapt it:
   * the OPEN then says where it starts and how far it may grow.
   */
  openInbound(name: string | number, window: number, count: number, sink: RecvSink): Inbound {
    const limit = count < 0 ? Infinity : count;
    const id = this.allocate();
    let inb: Inbound;
    if (window === AUTO_WINDOW) {
      inb = new Inbound(this, id, channelLabel(name), ADAPTIVE_MAX, limit, sink, ADAPTIVE_START);
      this.reliable([FrameType.Open, id, name, WireDir.Recv, ADAPTIVE_START, count, ADAPTIVE_MAX]);
    } else {
      inb = new Inbound(this, id, channelLabel(name), window, limit, sink);
      this.reliable([FrameType.Open, id, name, WireDir.Recv, window, count]);
    }
    this.bindings.set(id, inb);
    return inb;
  }

  /**
   * Opens a binding on which this side sends into the peer's channel `name`;
   * the caller attaches it to its queue. With `window` {@link AUTO_WINDOW} the
   * window adapts, within what the peer's HELLO announced it accepts.
   */
  openOutbound(name: string | number, window: number, count: number, owner: SendLaneOwner): Outbound {
    const limit = count < 0 ? Infinity : count;
    const id = this.allocate();
    let out: Outbound;
    if (window === AUTO_WINDOW) {
      const adaptive = new AdaptiveWindow(ADAPTIVE_START, Math.min(ADAPTIVE_MAX, this.host.maxWindow));
      out = new Outbound(this, id, channelLabel(name), ADAPTIVE_START, limit, owner, adaptive);
      this.reliable([FrameType.Open, id, name, WireDir.Send, ADAPTIVE_START, count, ADAPTIVE_MAX]);
    } else {
      out = new Outbound(this, id, channelLabel(name), window, limit, owner);
      this.reliable([FrameType.Open, id, name, WireDir.Send, window, count]);
    }
    this.bindings.set(id, out);
    return out;
  }

  // ---- what bindings ask for ----

  writeData(out: Outbound, payload: Uint8Array): void {
    this.link!.writer.data(out.id, payload);
  }

  /** END after the values written so far. */
  endOutbound(out: Outbound): void {
    this.reliable([FrameType.End, out.id, out.sent]);
    out.owner.onAck(out); // already acknowledged: nothing else would release it
  }

  /** ERROR after the values written so far; the binding ends once the receiver answers with CANCEL. */
  failOutbound(out: Outbound, error: { code: string; message: string }): void {
    this.reliable([FrameType.Error, out.id, error.code, error.message, out.sent]);
  }

  /** Forgets a sending binding that is finished, or dropped by its own side. */
  releaseOutbound(out: Outbound): void {
    out.state = 'gone';
    if (this.bindings.get(out.id) === out) this.bindings.delete(out.id);
  }

  /** The receiver stops early: CANCEL with what it delivered; the sender requeues the rest. */
  cancelInbound(inb: Inbound): void {
    if (this.bindings.get(inb.id) !== inb) return;
    this.bindings.delete(inb.id);
    inb.state = 'gone';
    if (this.state !== 'closed') this.reliable([FrameType.Cancel, inb.id, inb.takeAck() || inb.acked]);
  }

  /** The receiver fails the binding (it cannot hold the value): the sender keeps what was not acknowledged. */
  refuseInbound(inb: Inbound, error: NetchanError): void {
    if (this.bindings.get(inb.id) !== inb) return;
    this.bindings.delete(inb.id);
    inb.state = 'gone';
    this.reliable([FrameType.Error, inb.id, error.code, error.message, inb.takeAck() || inb.acked]);
    inb.sink.lost(inb, error);
    this.host.report(error);
  }

  /** A receiving binding that ended and has everything acknowledged. */
  forgetInbound(inb: Inbound): void {
    inb.state = 'gone';
    if (this.bindings.get(inb.id) === inb) this.bindings.delete(inb.id);
  }

  /** An inbound binding has something to acknowledge: write it at the next flush. */
  queueAck(inb: Inbound): void {
    if (this.state !== 'attached') {
      // Written when a link carries frames again.
      if (!inb.ackQueued) {
        inb.ackQueued = true;
        this.ackQueue.push(inb);
      }
      return;
    }
    const link = this.link!;
    // Pipelining: once half a large window is ready to acknowledge in the middle of
    // a big read, return that credit now so the sender refills while we work on
    // the rest, instead of the two sides taking turns.
    // An adaptive window's first acknowledgement leaves at once too (real transports only:
    // marble timing is unchanged): it gives the sender a round trip free of whatever
    // queue builds up at this receiver later, to tell a slow consumer from a long link.
    const first = inb.acked === 0 && inb.adaptive && link.writer.realTime;
    if ((first || inb.ackable - inb.acked >= inb.earlyAckAt) && !link.congested) {
      const n = inb.takeAck();
      if (n > 0) link.writer.ack(inb.id, n);
      link.writer.flush();
      return;
    }
    if (!inb.ackQueued) {
      inb.ackQueued = true;
      this.ackQueue.push(inb);
      link.writer.schedule();
    }
  }

  /** Called by the link at the start of each flush: acknowledgements and a due RECEIPT join the batch. */
  beforeFlush(): void {
    const link = this.link;
    if (link === null || link.congested) return;
    const q = this.ackQueue;
    if (q.length > 0) {
      this.ackQueue = [];
      for (const inb of q) {
        inb.ackQueued = false;
        const n = inb.takeAck();
        if (n > 0) link.writer.ack(inb.id, n);
      }
    }
    if (this.receiptDue) {
      this.receiptDue = false;
      link.writer.control([FrameType.Receipt, this.log.takeReceipt()]);
    }
  }

  /** The count a PING or PONG reports (it doubles as a RECEIPT). */
  receiptForPing(): number {
    this.receiptDue = false;
    return this.log.takeReceipt();
  }

  // ---- frames from the link ----

  data(id: number, payload: Uint8Array): void {
    const b = this.bindings.get(id);
    if (b instanceof Inbound) b.receive(payload);
    else if (b !== undefined) throw new NetchanError('EPROTO', `DATA for binding ${id}, on which this side sends`);
    else this.unknown('DATA', id);
  }

  ack(id: number, seq: number): void {
    const b = this.bindings.get(id);
    if (b instanceof Outbound) {
      if (!b.ack(seq)) throw new NetchanError('EPROTO', `ACK ${seq} for binding ${id} of channel "${b.channel}", which was sent only ${b.sent} value(s)`);
      b.owner.onAck(b);
    } else if (b !== undefined) {
      throw new NetchanError('EPROTO', `ACK for binding ${id}, on which this side receives`);
    } else {
      this.unknown('ACK', id);
    }
  }

  /** A reliable frame arrived (OPEN, END, CANCEL, binding ERROR): count it for the RECEIPT. */
  counted(): void {
    if (this.log.count() && !this.receiptDue) {
      this.receiptDue = true;
      this.link?.writer.schedule();
    }
  }

  /** The peer's OPEN; `max` > `size` (its optional 7th element) makes the window adaptive, up to `max`. */
  open(id: number, name: unknown, wireDir: number, size: number, count: number, max = 0): void {
    if ((id & 1) !== (this.role === 'listener' ? 1 : 0) || id === 0) {
      throw new NetchanError('EPROTO', `OPEN with binding id ${id}, which belongs to this side's id space`);
    }
    if (id <= this.highestPeerId) throw new NetchanError('EPROTO', `OPEN reuses binding id ${id}`);
    this.highestPeerId = id;
    const label = typeof name === 'string' ? `channel "${name}"` : 'channel end';
    if (this.bindings.size >= this.host.maxBindings) {
      return this.refuse(id, 'EPROTO', `${label}: too many bindings on one connection (maxBindings ${this.host.maxBindings})`);
    }
    const window = Math.max(1, size);
    if (window > this.host.maxWindow) {
      return this.refuse(id, 'EPROTO', `${label}: window ${window} > this side's maxWindow (${this.host.maxWindow})`);
    }
    // The opener names its own part: it receives (`recv`), so this side sends.
    const dir = wireDir === WireDir.Recv ? 'send' : 'recv';
    let target: OpenTarget;
    try {
      target = this.host.resolve(this, name, dir);
    } catch (e) {
      const err = e as NetchanError;
      return this.refuse(id, typeof err.code === 'string' ? err.code : 'EPROTO', err.message);
    }
    const channel = channelLabel(name);
    const limit = count < 0 ? Infinity : count;
    // Adaptive: as sender, this side's maxWindow bounds how far it grows; as receiver, the
    // opener grows within what this side's HELLO announced, and that is what is enforced.
    const cap = Math.max(window, Math.min(max, target.dir === 'send' ? this.host.maxWindow : this.link!.maxWindow));
    if (target.dir === 'send') {
      if (limit === 0) return;
      const out = new Outbound(this, id, channel, window, limit, target.owner, cap > window ? new AdaptiveWindow(window, cap) : null);
      this.bindings.set(id, out);
      target.attach(out);
    } else {
      const inb = new Inbound(this, id, channel, cap, limit, target.sink, window);
      this.bindings.set(id, inb);
      target.attach(inb);
    }
  }

  end(id: number, total: number): void {
    const b = this.bindings.get(id);
    if (b instanceof Inbound) b.endAfter(total);
    else if (b !== undefined) throw new NetchanError('EPROTO', `END for binding ${id}, on which this side sends`);
    else this.unknown('END', id);
  }

  cancel(id: number, acked: number): void {
    const b = this.bindings.get(id);
    if (b instanceof Outbound) {
      this.lose(b, acked, undefined, 'CANCEL');
    } else if (b !== undefined) {
      throw new NetchanError('EPROTO', `CANCEL for binding ${id}, on which this side receives`);
    } else {
      this.unknown('CANCEL', id);
    }
  }

  error(id: number, error: NetchanError, n: number): void {
    const b = this.bindings.get(id);
    if (b instanceof Outbound) this.lose(b, n, error, 'ERROR');
    else if (b !== undefined) b.failAfter(n, error);
    else this.unknown('ERROR', id);
  }

  replay(id: number, seq: number, sent: number): void {
    const b = this.bindings.get(id);
    if (b instanceof Inbound) return b.replayFrom(seq);
    if (b !== undefined) throw new NetchanError('EPROTO', `REPLAY for binding ${id}, on which this side sends`);
    this.unknown('REPLAY', id);
    // A binding this side already let go of. If its CANCEL or ERROR is still on
    // its way, that settles it; otherwise it completed with everything delivered
    // and acknowledged, and only the final ACK was lost: say so again.
    if (!this.log.hasPendingEnd(id)) this.link?.writer.ack(id, sent);
  }

  receipt(n: number): void {
    this.log.receipt(n);
  }

  // ---- internals ----

  private lose(out: Outbound, acked: number, error: NetchanError | undefined, kind: string): void {
    if (!out.ack(acked)) throw new NetchanError('EPROTO', `${kind} acknowledging ${acked} for binding ${out.id} of channel "${out.channel}", which was sent only ${out.sent} value(s)`);
    this.bindings.delete(out.id);
    out.state = 'gone';
    out.owner.onLost(out, error, error ? 'error' : 'cancel');
  }

  /** Refuses a peer's OPEN: that binding fails, the connection goes on. */
  private refuse(id: number, code: string, message: string): void {
    this.reliable([FrameType.Error, id, code, message, 0]);
  }

  private reliable(frame: readonly unknown[]): void {
    this.log.record(frame);
    if (this.state === 'attached') this.link!.writer.control(frame);
  }

  private allocate(): number {
    const id = this.nextId;
    this.nextId += 2;
    return id;
  }

  /** A frame for an id with no binding here: late (ignore) or never opened (violation). */
  private unknown(kind: string, id: number): void {
    const ours = (id & 1) === (this.role === 'dialer' ? 1 : 0);
    const known = id !== 0 && (ours ? id < this.nextId : id <= this.highestPeerId);
    if (!known) throw new NetchanError('EPROTO', `${kind} for binding ${id}, which was never opened`);
  }
}

/** How a binding names its channel in messages: the channel's name, or `end 7` for a channel end inside a value. */
function channelLabel(name: unknown): string {
  return typeof name === 'string' ? name : `end ${String(name)}`;
}
