import { NetchanError } from '../errors/NetchanError.js';
import type { ValueCodec } from '../protocol/codec.js';
import { FrameType, WireDir } from '../protocol/frame.js';
import { ControlLog } from './ControlLog.js';
import { ChannelMeter } from '../channel/ChannelMeter.js';
import type { RecvSink, SendLaneOwner } from '../channel/Lane.js';
import { ADAPTIVE_MAX, ADAPTIVE_START, AdaptiveWindow, AUTO_WINDOW } from './AdaptiveWindow.js';
import { Inbound } from './Inbound.js';
import { Outbound } from './Outbound.js';
import { HoldingSink } from './HoldingSink.js';

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
   * (`'ENOCHAN'`, `'EDIR'`, `'EAUTH'`, …). A Promise (an asynchronous
   * `authorize` hook) holds the binding until it settles: what the peer sends
   * on it meanwhile waits in the binding, bounded by its window; a rejection
   * refuses it.
   */
  resolve(session: Session, name: unknown, dir: 'send' | 'recv'): OpenTarget | Promise<OpenTarget>;
  /** A binding-level problem worth reporting on `errors$`. */
  report(err: NetchanError): void;
  /** A binding the peer opened was bound (metrics, logs, diagnostics). */
  bound?(session: Session, b: Inbound | Outbound): void;
  /** A binding left the table (ended, cancelled, failed, or its session closed). */
  unbound?(session: Session, b: Inbound | Outbound): void;
  /** A peer's OPEN was refused with `code`. */
  refused?(session: Session, name: unknown, code: string, message: string): void;
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
  /** Values and bytes in and out, acknowledgements and errors over the session's life (metrics). */
  readonly meter = new ChannelMeter();
  /** Disconnecting: bindings get no new values (the peer may still acknowledge those in flight). */
  private quiescing = false;
  /** Called once nothing sent on this session is unacknowledged, while quiescing. */
  private onQuiet: (() => void) | null = null;
  /** Peer OPENs of bindings this side sends on, waiting for an asynchronous resolve. */
  private readonly pendingOpens = new Map<number, { readonly name: unknown }>();
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
    return this.state === 'attached' && !this.quiescing && !this.link!.congested;
  }

  /** Values this side has written and the peer has not acknowledged yet, over every binding. */
  get inFlight(): number {
    let n = 0;
    for (const b of this.bindings.values()) if (b instanceof Outbound) n += b.sent - b.acked;
    return n;
  }

  /**
   * Stops writing values (a graceful disconnect): bindings keep what is in
   * flight, acknowledgements still count; `quiet` is called once nothing is
   * unacknowledged (at once if nothing is), or never if the session ends first.
   */
  quiesce(quiet: () => void): void {
    this.quiescing = true;
    this.onQuiet = quiet;
    this.checkQuiet();
  }

  private checkQuiet(): void {
    const quiet = this.onQuiet;
    if (quiet === null || this.inFlight > 0) return;
    this.onQuiet = null;
    quiet();
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
    if (this.state !== 'attached' || this.link!.congested) return;
    if (this.ackQueue.length > 0) this.link!.writer.schedule();
    if (this.quiescing) return;
    for (const b of [...this.bindings.values()]) if (b instanceof Outbound && b.state === 'open') b.owner.onWritable(b);
  }

  /**
   * The session is over: every binding is lost (values in flight go back to
   * their queues; receivers error with `error`, or complete when it is unset).
   */
  close(error?: NetchanError): void {
    if (this.state === 'closed') return;
    const bindings = [...this.bindings.values()];
    this.state = 'closed';
    this.link = null;
    this.bindings.clear();
    this.pendingOpens.clear();
    this.ackQueue = [];
    this.log.reset();
    this.onQuiet = null;
    for (const b of bindings) {
      this.host.unbound?.(this, b);
      if (b instanceof Outbound) {
        b.state = 'gone';
        b.owner.onLost(b, error, 'session');
      } else {
        b.state = 'gone';
        b.sink.lost(b, error);
      }
    }
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
    const m = this.meter;
    m.valuesOut++;
    m.bytesOut += payload.length;
    const cm = out.owner.meter;
    if (cm !== undefined) {
      cm.valuesOut++;
      cm.bytesOut += payload.length;
    }
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

  /**
   * Stops a sending binding from this side (an operator cancelling one of a
   * client's bindings): ERROR with `error` after the values written so far.
   * The receiver delivers those, errors its subscriber and answers with
   * CANCEL; what it had not acknowledged then goes back to the queue.
   */
  cancelOutbound(out: Outbound, error: { code: string; message: string }): void {
    if (out.state !== 'open' || this.bindings.get(out.id) !== out) return;
    out.state = 'ended';
    this.failOutbound(out, error);
  }

  /** Forgets a sending binding that is finished, or dropped by its own side. */
  releaseOutbound(out: Outbound): void {
    out.state = 'gone';
    if (this.bindings.get(out.id) === out) this.unbind(out);
  }

  /** The receiver stops early: CANCEL with what it delivered; the sender requeues the rest. */
  cancelInbound(inb: Inbound): void {
    if (this.bindings.get(inb.id) !== inb) return;
    this.unbind(inb);
    inb.state = 'gone';
    if (this.state !== 'closed') this.reliable([FrameType.Cancel, inb.id, inb.takeAck() || inb.acked]);
  }

  /**
   * The receiver fails the binding (it cannot hold the value, the value failed
   * its schema, an operator cancelled it): the sender keeps what was not
   * acknowledged. `report`: also on the endpoint's `errors$`.
   */
  refuseInbound(inb: Inbound, error: NetchanError, report = true): void {
    if (this.bindings.get(inb.id) !== inb) return;
    this.unbind(inb);
    inb.state = 'gone';
    this.meter.errors++;
    this.reliable([FrameType.Error, inb.id, error.code, error.message, inb.takeAck() || inb.acked]);
    inb.sink.lost(inb, error);
    if (report) this.host.report(error);
  }

  /** A receiving binding that ended and has everything acknowledged. */
  forgetInbound(inb: Inbound): void {
    inb.state = 'gone';
    if (this.bindings.get(inb.id) === inb) this.unbind(inb);
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
    if (b instanceof Inbound) {
      this.meter.valuesIn++;
      this.meter.bytesIn += payload.length;
      b.receive(payload);
    } else if (b !== undefined || this.pendingOpens.has(id)) {
      throw new NetchanError('EPROTO', `DATA for binding ${id}, on which this side sends`);
    } else this.unknown('DATA', id);
  }

  ack(id: number, seq: number): void {
    const b = this.bindings.get(id);
    if (b instanceof Outbound) {
      const before = b.acked;
      if (!b.ack(seq)) throw new NetchanError('EPROTO', `ACK ${seq} for binding ${id} of channel "${b.channel}", which was sent only ${b.sent} value(s)`);
      this.countAcks(b, before);
      b.owner.onAck(b);
      if (this.onQuiet !== null) this.checkQuiet();
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
    if (this.bindings.size + this.pendingOpens.size >= this.host.maxBindings) {
      return this.refuse(id, 'EPROTO', `${label}: too many bindings on one connection (maxBindings ${this.host.maxBindings})`);
    }
    const window = Math.max(1, size);
    if (window > this.host.maxWindow) {
      return this.refuse(id, 'EPROTO', `${label}: window ${window} > this side's maxWindow (${this.host.maxWindow})`);
    }
    // The opener names its own part: it receives (`recv`), so this side sends.
    const dir = wireDir === WireDir.Recv ? 'send' : 'recv';
    let target: OpenTarget | Promise<OpenTarget>;
    try {
      target = this.host.resolve(this, name, dir);
    } catch (e) {
      return this.refuseOpen(id, name, e);
    }
    const channel = channelLabel(name);
    const limit = count < 0 ? Infinity : count;
    if (isPromise(target)) return this.openLater(id, name, dir, window, limit, max, target);
    this.bind(id, channel, window, limit, max, target);
  }

  /**
   * The most values an adaptive binding may grow to. As sender, this side's
   * maxWindow bounds how far it grows; as receiver, the opener grows within
   * what this side's HELLO announced, and that is what is enforced.
   */
  private capOf(dir: 'send' | 'recv', window: number, max: number): number {
    const mine = dir === 'send' ? this.host.maxWindow : (this.link?.maxWindow ?? this.host.maxWindow);
    return Math.max(window, Math.min(max, mine));
  }

  private bind(id: number, channel: string, window: number, limit: number, max: number, target: OpenTarget): void {
    const cap = this.capOf(target.dir, window, max);
    if (target.dir === 'send') {
      if (limit === 0) return;
      const out = new Outbound(this, id, channel, window, limit, target.owner, cap > window ? new AdaptiveWindow(window, cap) : null);
      this.bindings.set(id, out);
      target.attach(out);
      this.host.bound?.(this, out);
    } else {
      const inb = new Inbound(this, id, channel, cap, limit, target.sink, window);
      this.bindings.set(id, inb);
      target.attach(inb);
      this.host.bound?.(this, inb);
    }
  }

  /**
   * A peer's OPEN whose target is not known yet (an asynchronous authorize).
   * A binding this side receives on exists at once, delivering into a
   * {@link HoldingSink}: the peer may send right away, and its window (values
   * and bytes) bounds what waits. One this side sends on is created only once
   * resolved. A CANCEL, a lost session or a refusal meanwhile settle it.
   */
  private openLater(id: number, name: unknown, dir: 'send' | 'recv', window: number, limit: number, max: number, pending: Promise<OpenTarget>): void {
    const channel = channelLabel(name);
    if (dir === 'send') {
      const slot = { name };
      this.pendingOpens.set(id, slot);
      pending.then(
        (target) => {
          if (this.pendingOpens.get(id) !== slot) return;
          this.pendingOpens.delete(id);
          if (target.dir !== 'send') return this.refuseOpen(id, name, new NetchanError('EDIR', `wrong direction for ${channelDesc(name)}`));
          this.bind(id, channel, window, limit, max, target);
        },
        (e: unknown) => {
          if (this.pendingOpens.get(id) !== slot) return;
          this.pendingOpens.delete(id);
          this.refuseOpen(id, name, e);
        },
      );
      return;
    }
    const hold = new HoldingSink();
    const inb = new Inbound(this, id, channel, this.capOf('recv', window, max), limit, hold, window);
    this.bindings.set(id, inb);
    pending.then(
      (target) => {
        if (hold.isLost || this.state === 'closed') return;
        if (target.dir !== 'recv') return this.failPending(inb, id, name, new NetchanError('EDIR', `wrong direction for ${channelDesc(name)}`));
        inb.sink = target.sink;
        target.attach(inb);
        this.host.bound?.(this, inb);
        hold.replay(target.sink, inb, () =>
          this.refuseInbound(inb, new NetchanError('EOVERFLOW', `channel "${channel}": the receiver holds too many bytes of values nobody has taken yet (maxHeldBytes); the sender keeps this one`)),
        );
      },
      (e: unknown) => {
        if (!hold.isLost && this.state !== 'closed') this.failPending(inb, id, name, e);
      },
    );
  }

  /** A receiving binding held for an asynchronous resolve was refused: what it held stays the sender's. */
  private failPending(inb: Inbound, id: number, name: unknown, e: unknown): void {
    const err = asError(e);
    this.host.refused?.(this, name, err.code, err.message);
    if (this.bindings.get(id) === inb) this.refuseInbound(inb, err, false);
    else this.refuse(id, err.code, err.message); // ended and forgotten meanwhile (an END of nothing): say it anyway
  }

  private refuseOpen(id: number, name: unknown, e: unknown): void {
    const err = asError(e);
    this.meter.errors++;
    this.host.refused?.(this, name, err.code, err.message);
    this.refuse(id, err.code, err.message);
  }

  end(id: number, total: number): void {
    const b = this.bindings.get(id);
    if (b instanceof Inbound) b.endAfter(total);
    else if (b !== undefined) throw new NetchanError('EPROTO', `END for binding ${id}, on which this side sends`);
    else this.unknown('END', id);
  }

  cancel(id: number, acked: number): void {
    if (this.pendingOpens.delete(id)) return; // unsubscribed before its authorization came back
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
    if (this.pendingOpens.delete(id)) return;
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
    const before = out.acked;
    if (!out.ack(acked)) throw new NetchanError('EPROTO', `${kind} acknowledging ${acked} for binding ${out.id} of channel "${out.channel}", which was sent only ${out.sent} value(s)`);
    this.countAcks(out, before);
    this.unbind(out);
    out.state = 'gone';
    out.owner.onLost(out, error, error ? 'error' : 'cancel');
    if (this.onQuiet !== null) this.checkQuiet();
  }

  /** Counts the acknowledgements `out` just got (session and channel metrics). */
  private countAcks(out: Outbound, before: number): void {
    const n = out.acked - before;
    if (n <= 0) return;
    this.meter.acked += n;
    const cm = out.owner.meter;
    if (cm !== undefined) cm.acked += n;
  }

  private unbind(b: Inbound | Outbound): void {
    this.bindings.delete(b.id);
    this.host.unbound?.(this, b);
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

function channelDesc(name: unknown): string {
  return typeof name === 'string' ? `channel "${name}"` : 'channel end';
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

function asError(e: unknown): NetchanError {
  if (e instanceof Error && typeof (e as { code?: unknown }).code === 'string') return e as NetchanError;
  return new NetchanError('EPROTO', e instanceof Error ? e.message : String(e));
}
