import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import { NetchanError, isNetchanError } from '../errors/NetchanError.js';
import { remoteError } from '../errors/remoteError.js';
import type { ValueCodec } from '../protocol/codec.js';
import { countField, optionalUint, uintField } from '../protocol/fields.js';
import { ByeReason, FrameType } from '../protocol/frame.js';
import { FrameDecoder } from '../protocol/FrameDecoder.js';
import { FrameWriter } from './FrameWriter.js';
import { DEFAULT_MAX_WINDOW, HANDSHAKE_MAX_FRAME_BYTES, MAX_CONGESTED_CONTROL_BYTES, PROTOCOL_VERSION } from '../protocol/limits.js';
import type { Session, SessionLink } from '../session/Session.js';
import type { Connection, ConnectionHandler } from '../transport/Connection.js';

/** Timing and size settings of a link; see EndpointConfig for each. */
export interface LinkSettings {
  readonly maxFrameBytes: number;
  readonly keepaliveMs: number;
  readonly handshakeTimeoutMs: number;
  readonly writeTimeoutMs: number;
  readonly scheduler: SchedulerLike;
  readonly flushScheduler: SchedulerLike;
  /** Largest window announced in HELLO (adaptive windows the peer opens grow within it). Defaults to 65,536. */
  readonly maxWindow?: number;
}

/** The endpoint a link reports to. */
export interface LinkOwner {
  /**
   * The peer's HELLO arrived (version checked). Attach a session with
   * `link.attach()`, or throw a NetchanError to refuse the connection. A
   * returned Promise holds the frames that follow until it settles.
   */
  hello(link: Link, options: Record<string, unknown>): void | Promise<void>;
  /**
   * The peer asks `what` (a QUERY, see QueryKind): the answer, or a Promise of
   * it, is sent back in a REPLY; a thrown NetchanError is replied as an error.
   * Absent: queries are refused.
   */
  query?(link: Link, what: unknown): unknown;
  /** The link failed: report `err` (once per link). */
  linkError(link: Link, err: NetchanError): void;
  /** The link is gone: `err` unset when it ended cleanly (`link.byeReason` says whether the peer said goodbye). */
  linkClosed(link: Link, err: NetchanError | undefined): void;
}

/** `'handshake'` until the peer's HELLO, `'open'`, `'closing'` once either side began to close, `'closed'`. */
export type LinkPhase = 'handshake' | 'open' | 'closing' | 'closed';

/** Bytes a peer must send to count as alive, short of a whole frame (a slow large frame is alive; a drip is not). */
const ALIVE_BYTES = 16 * 1024;
/** Bytes of frames a link holds while its owner decides on the HELLO (an async authenticate hook). */
const MAX_HELD_BYTES = 1024 * 1024;

/**
 * One connection: the only place that knows frames. It splits the byte stream
 * into frames, checks every field, and hands bindings' frames to the attached
 * {@link Session}; it owns the handshake, batching writes (FrameWriter), the
 * keepalive, the handshake and write deadlines, and the transport's
 * backpressure. A session outlives its links.
 */
export class Link implements ConnectionHandler, SessionLink {
  phase: LinkPhase = 'handshake';
  session: Session | null = null;
  readonly writer: FrameWriter;
  /** The transport's buffer is over its high-water mark: values and acknowledgements wait. */
  congested = false;
  /** Frame limit the peer announced in its HELLO. */
  peerMaxFrameBytes: number;
  /** Largest window the peer's HELLO announced (`maxWindow`); 0 until then, or from a peer that adapts no window. */
  peerMaxWindow = 0;
  /** Largest window this side's HELLO announces. */
  readonly maxWindow: number;
  /** What the peer's BYE said (`'close'` or `'disconnect'`), or null if it sent none. */
  byeReason: string | null = null;
  /** Last round trip measured by PING/PONG, in ms (null until one was). */
  rtt: number | null = null;
  /** The peer's HELLO said it answers QUERY frames. */
  peerAnswersQueries = false;
  framesIn = 0;
  bytesIn = 0;
  /** QUERY frames sent and not answered yet, by number. */
  private readonly queries = new Map<number, { resolve(v: unknown): void; reject(e: NetchanError): void }>();
  private nextQuery = 1;
  private readonly decoder: FrameDecoder;
  private heard = false;
  private closeError: NetchanError | undefined;
  private lastRx: number;
  private quietBytes = 0;
  private pingSentAt = 0;
  private keepaliveTimer: Subscription | null = null;
  private handshakeTimer: Subscription | null = null;
  private writeTimer: Subscription | null = null;
  private congestedAt = 0;
  private held: Uint8Array[] | null = null;
  private heldBytes = 0;
  private pos = 0;

  constructor(
    readonly conn: Connection,
    readonly settings: LinkSettings,
    private readonly codec: ValueCodec,
    private readonly owner: LinkOwner,
  ) {
    this.peerMaxFrameBytes = settings.maxFrameBytes;
    this.maxWindow = settings.maxWindow ?? DEFAULT_MAX_WINDOW;
    this.decoder = new FrameDecoder(Math.min(settings.maxFrameBytes, HANDSHAKE_MAX_FRAME_BYTES));
    this.writer = new FrameWriter(conn, codec, settings.flushScheduler);
    this.writer.beforeFlush = () => this.session?.beforeFlush();
    this.writer.onBackpressure = () => this.congest();
    this.lastRx = settings.scheduler.now();
  }

  get remote(): string {
    return this.conn.remote;
  }

  /** Why the link failed (an error of its own or the peer's), once it has; undefined for a clean end. */
  get failure(): NetchanError | undefined {
    return this.closeError;
  }

  /** The endpoint scheduler's clock, ms. */
  now(): number {
    return this.settings.scheduler.now();
  }

  /** True once the peer's HELLO arrived. */
  get established(): boolean {
    return this.heard;
  }

  /** Starts reading, and the handshake deadline and keepalive. */
  start(): void {
    const s = this.settings;
    if (s.handshakeTimeoutMs > 0) {
      this.handshakeTimer = s.scheduler.schedule(() => {
        this.handshakeTimer = null;
        if (!this.heard) this.destroy(new NetchanError('ETIMEDOUT', `connection to ${this.remote}: no HELLO within ${s.handshakeTimeoutMs} ms (handshakeTimeout)`));
        // An asynchronous authenticate that has not answered yet counts as part of the handshake.
        else if (this.held !== null) this.destroy(new NetchanError('ETIMEDOUT', `connection to ${this.remote}: the handshake was not accepted within ${s.handshakeTimeoutMs} ms (handshakeTimeout; authenticate still pending)`));
      }, s.handshakeTimeoutMs);
    }
    if (this.conn.keepalive && s.keepaliveMs > 0) this.armKeepalive(s.keepaliveMs);
    this.conn.start(this);
  }

  sendHello(options: Record<string, unknown>): void {
    this.writer.control([
      FrameType.Hello,
      PROTOCOL_VERSION,
      { maxFrameBytes: this.settings.maxFrameBytes, keepalive: this.settings.keepaliveMs, maxWindow: this.maxWindow, ...options },
    ]);
  }

  /** Makes `session` the receiver of this link's binding frames. */
  attach(session: Session): void {
    this.session = session;
  }

  /**
   * Sends a PING now, to measure the round trip (`rtt`), unless one is
   * unanswered already. It doubles as a keepalive probe: an unanswered one
   * drops the connection after the keepalive interval, as usual.
   */
  ping(): void {
    if (this.phase !== 'open' || !this.heard || this.congested) return;
    if (this.pingSentAt > 0 && this.lastRx < this.pingSentAt) return;
    this.pingSentAt = this.settings.scheduler.now();
    this.writer.control(this.session ? [FrameType.Ping, this.session.receiptForPing()] : [FrameType.Ping]);
    this.writer.flush();
  }

  /**
   * Asks the peer `what` (QUERY) and resolves with its REPLY; rejects with the
   * error it replied, or `'ECLOSED'` if the link ends first.
   */
  query(what: string): Promise<unknown> {
    if (this.phase !== 'open') return Promise.reject(new NetchanError('ECLOSED', `connection to ${this.remote} is closed`));
    const n = this.nextQuery++;
    return new Promise<unknown>((resolve, reject) => {
      this.queries.set(n, { resolve, reject });
      this.writer.control([FrameType.Query, n, what]);
      this.writer.flush();
    });
  }

  /** Ends the link gracefully: BYE with `reason`, flush, close. */
  close(reason: string = ByeReason.Close): void {
    if (this.phase === 'closing' || this.phase === 'closed') return;
    this.phase = 'closing';
    // Acknowledgements due go out before the goodbye, so the peer counts them before it lets go.
    this.session?.beforeFlush();
    this.writer.control([FrameType.Bye, reason]);
    this.writer.flush();
    this.conn.close();
  }

  /** Ends the link because of `err`: tell the peer, then close. */
  fail(err: NetchanError): void {
    if (this.phase === 'closed' || this.closeError) return;
    this.closeError = err;
    this.owner.linkError(this, err);
    if (this.phase !== 'closing') {
      this.phase = 'closing';
      this.writer.control([FrameType.Error, 0, err.code, err.message]);
      this.writer.flush();
    }
    this.conn.close(err);
  }

  /** Ends the link at once, writing nothing more (the peer is dead or not reading). */
  destroy(err: NetchanError): void {
    if (this.phase === 'closed') return;
    if (!this.closeError) {
      this.closeError = err;
      this.owner.linkError(this, err);
    }
    if (this.conn.destroy) this.conn.destroy(err);
    else this.conn.close(err);
    this.teardown(err);
  }

  /**
   * Drops the link without a word to its owner (a resumed session moved to a
   * newer link): the socket is destroyed, timers stop, the session is left alone.
   */
  abandon(reason: NetchanError): void {
    if (this.phase === 'closed') return;
    this.session = null;
    this.closeError = reason;
    this.phase = 'closed';
    this.stopTimers();
    this.writer.dispose();
    this.decoder.reset();
    if (this.conn.destroy) this.conn.destroy(reason);
    else this.conn.close(reason);
  }

  // ---- ConnectionHandler ----

  onData(chunk: Uint8Array): void {
    if (this.phase === 'closed') return;
    this.bytesIn += chunk.length;
    const frames = this.framesIn;
    try {
      // A message transport (WebSocket) must carry whole frames: the decoder checks the message before handing any out.
      if (this.conn.framing === 'message') this.decoder.pushMessage(chunk, this.onFrame);
      else this.decoder.push(chunk, this.onFrame);
    } catch (e) {
      this.fail(toNetchanError(e));
      return;
    }
    // Alive: a whole frame, or enough bytes of a large one (a byte-a-second drip is not).
    this.quietBytes += chunk.length;
    if (this.framesIn > frames || this.quietBytes >= ALIVE_BYTES) {
      this.quietBytes = 0;
      this.lastRx = this.settings.scheduler.now();
    }
  }

  onClose(error?: Error): void {
    if (this.phase === 'closed') return;
    let err: NetchanError | undefined;
    if (this.closeError) err = this.closeError;
    // A transport that closed because of bad input (a WebSocket text message, say) reports it with its own code.
    else if (error && isNetchanError(error)) err = error;
    else if (error) err = new NetchanError('ECLOSED', `connection to ${this.remote} failed: ${error.message}`, { cause: error });
    else if (this.decoder.buffered > 0) err = new NetchanError('EPROTO', `connection to ${this.remote} ended mid-frame (${this.decoder.buffered} bytes of an unfinished frame)`);
    else if (this.phase !== 'closing' && this.byeReason === null) err = new NetchanError('ECLOSED', `connection to ${this.remote} ended`);
    this.teardown(err);
  }

  onDrain(): void {
    if (!this.congested || this.phase === 'closed') return;
    this.congested = false;
    this.writeTimer?.unsubscribe();
    this.writeTimer = null;
    if (this.pongOwed) {
      this.pongOwed = false;
      this.pong();
    }
    this.session?.writable();
  }

  private pongOwed = false;

  private pong(): void {
    this.writer.control(this.session ? [FrameType.Pong, this.session.receiptForPing()] : [FrameType.Pong]);
  }

  // ---- incoming ----

  private readonly onFrame = (body: Uint8Array): boolean => {
    if (this.phase === 'closed' || this.closeError) return false;
    if (this.held !== null) {
      this.hold(body);
      return true;
    }
    this.framesIn++;
    const marker = body[0]!;
    if (marker < 0x91 || marker > 0x9f || body.length < 2) {
      throw new NetchanError('EPROTO', `malformed frame: expected a MessagePack array, got byte 0x${marker.toString(16)}`);
    }
    const type = body[1]!;
    // BYE may come before HELLO: an exporter closing while an importer's handshake is under way.
    if (!this.heard && type !== FrameType.Hello && type !== FrameType.Error && type !== FrameType.Bye) {
      throw new NetchanError('EPROTO', `expected HELLO as the first frame, got frame type ${type}`);
    }
    switch (type) {
      case FrameType.Data: {
        if (marker !== 0x93) throw new NetchanError('EPROTO', 'malformed DATA frame');
        const id = this.readUint(body, 2);
        this.bound('DATA').data(id, body.subarray(this.pos));
        break;
      }
      case FrameType.Ack: {
        if (marker !== 0x93) throw new NetchanError('EPROTO', 'malformed ACK frame');
        const id = this.readUint(body, 2);
        const seq = this.readUint(body, this.pos);
        if (this.pos !== body.length) throw new NetchanError('EPROTO', 'malformed ACK frame: trailing bytes');
        this.bound('ACK').ack(id, seq);
        break;
      }
      default: {
        const frame = this.codec.decodeControl(body);
        if (!Array.isArray(frame)) throw new NetchanError('EPROTO', 'malformed frame');
        this.control(type, frame);
      }
    }
    return (this.phase as LinkPhase) !== 'closed' && !this.closeError;
  };

  private control(type: number, f: unknown[]): void {
    switch (type) {
      case FrameType.Hello:
        return this.hello(f);
      case FrameType.Open: {
        const s = this.bound('OPEN');
        const id = uintField(f[1], 'OPEN', 'id');
        const dir = f[3];
        if (dir !== 0 && dir !== 1) throw new NetchanError('EPROTO', 'malformed OPEN frame: dir must be 0 or 1');
        const size = uintField(f[4], 'OPEN', 'size');
        const count = countField(f[5], 'OPEN');
        const max = optionalUint(f[6], 'OPEN', 'max', 0);
        s.counted();
        return s.open(id, f[2], dir, size, count, max);
      }
      case FrameType.End: {
        const s = this.bound('END');
        const id = uintField(f[1], 'END', 'id');
        const total = uintField(f[2], 'END', 'total');
        s.counted();
        return s.end(id, total);
      }
      case FrameType.Cancel: {
        const s = this.bound('CANCEL');
        const id = uintField(f[1], 'CANCEL', 'id');
        const acked = uintField(f[2], 'CANCEL', 'acked');
        s.counted();
        return s.cancel(id, acked);
      }
      case FrameType.Error: {
        const id = uintField(f[1], 'ERROR', 'id');
        if (id === 0) {
          // The peer's own account of why it closes; its code is one of ours or becomes 'EREMOTE'.
          const err = remoteError(f);
          const e = new NetchanError(err.code, `${this.remote}: ${err.message}`);
          this.closeError = e;
          this.owner.linkError(this, e);
          this.conn.close();
          return;
        }
        const s = this.bound('ERROR');
        const n = optionalUint(f[4], 'ERROR', 'n', 0);
        s.counted();
        return s.error(id, remoteError(f), n);
      }
      case FrameType.Ping: {
        const n = optionalUint(f[1], 'PING', 'receipt', -1);
        if (n >= 0) this.session?.receipt(n);
        // While our writes wait for the peer to read, one PONG is owed (not one per PING: they would pile up).
        if (this.congested) this.pongOwed = true;
        else this.pong();
        return;
      }
      case FrameType.Pong: {
        const n = optionalUint(f[1], 'PONG', 'receipt', -1);
        if (n >= 0) this.session?.receipt(n);
        if (this.pingSentAt > 0) this.rtt = this.settings.scheduler.now() - this.pingSentAt;
        return;
      }
      case FrameType.Query:
        return this.answer(uintField(f[1], 'QUERY', 'n'), f[2]);
      case FrameType.Reply: {
        const n = uintField(f[1], 'REPLY', 'n');
        const q = this.queries.get(n);
        if (q === undefined) return; // a late answer: nobody waits for it
        this.queries.delete(n);
        if (f[2] === null || f[2] === undefined) q.resolve(f[3]);
        else q.reject(remoteError([FrameType.Error, 0, f[2], f[3]]));
        return;
      }
      case FrameType.Bye:
        this.byeReason = typeof f[1] === 'string' ? f[1] : ByeReason.Close;
        this.conn.close();
        return;
      case FrameType.Receipt:
        return this.bound('RECEIPT').receipt(uintField(f[1], 'RECEIPT', 'n'));
      case FrameType.Replay: {
        const s = this.bound('REPLAY');
        const id = uintField(f[1], 'REPLAY', 'id');
        const seq = uintField(f[2], 'REPLAY', 'seq');
        const sent = uintField(f[3], 'REPLAY', 'sent');
        return s.replay(id, seq, sent);
      }
      default:
        throw new NetchanError('EPROTO', `unknown frame type ${type}`);
    }
  }

  private hello(f: unknown[]): void {
    if (this.heard) throw new NetchanError('EPROTO', 'HELLO received twice');
    const [, version, options] = f;
    if (version !== PROTOCOL_VERSION) {
      throw new NetchanError(
        'EPROTO',
        `unsupported protocol version ${String(version)}; this side speaks ${PROTOCOL_VERSION}${version === 1 ? ' (the peer runs an rx-netchan older than 0.2: upgrade both sides)' : ''}`,
      );
    }
    const opts = isRecord(options) ? options : {};
    if (opts['keepalive'] !== undefined) uintField(opts['keepalive'], 'HELLO', 'keepalive'); // informational, but a number
    if (opts['maxFrameBytes'] !== undefined) {
      const m = uintField(opts['maxFrameBytes'], 'HELLO', 'maxFrameBytes');
      if (m < 64) throw new NetchanError('EPROTO', `malformed HELLO frame: maxFrameBytes ${m} is too small`);
      this.peerMaxFrameBytes = m;
    }
    this.peerAnswersQueries = opts['queries'] === true;
    if (opts['maxWindow'] !== undefined) this.peerMaxWindow = uintField(opts['maxWindow'], 'HELLO', 'maxWindow');
    this.heard = true;
    this.decoder.setMaxFrameBytes(this.settings.maxFrameBytes);
    if (this.phase === 'handshake') this.phase = 'open';
    const pending = this.owner.hello(this, opts);
    if (pending) {
      // The handshake deadline keeps running until the owner has decided.
      this.held = [];
      pending.then(
        () => this.release(),
        (e: unknown) => this.fail(toNetchanError(e)),
      );
      return;
    }
    this.handshakeTimer?.unsubscribe();
    this.handshakeTimer = null;
  }

  /** Answers a QUERY: the owner's answer (or its error) in a REPLY, once it is known. */
  private answer(n: number, what: unknown): void {
    const owner = this.owner;
    const reply = (frame: unknown[]): void => {
      if (this.phase !== 'open') return;
      try {
        this.writer.control(frame);
      } catch (e) {
        const err = toNetchanError(e);
        this.writer.control([FrameType.Reply, n, err.code, err.message]);
      }
      this.writer.schedule();
    };
    const fail = (e: unknown): void => {
      const err = toNetchanError(e);
      reply([FrameType.Reply, n, err.code, err.message]);
    };
    if (owner.query === undefined || this.session === null) return fail(new NetchanError('EPROTO', 'queries are not answered here'));
    try {
      const result = owner.query(this, what);
      if (typeof (result as { then?: unknown } | null)?.then === 'function') {
        (result as Promise<unknown>).then((r) => reply([FrameType.Reply, n, null, r]), fail);
      } else {
        reply([FrameType.Reply, n, null, result]);
      }
    } catch (e) {
      fail(e);
    }
  }

  /** Keeps a frame that arrived while the owner decides on the HELLO. */
  private hold(body: Uint8Array): void {
    this.heldBytes += body.length;
    if (this.heldBytes > MAX_HELD_BYTES) throw new NetchanError('EPROTO', `more than ${MAX_HELD_BYTES} bytes of frames before the handshake was accepted`);
    this.held!.push(body.slice());
  }

  private release(): void {
    const frames = this.held ?? [];
    this.held = null;
    this.heldBytes = 0;
    this.handshakeTimer?.unsubscribe();
    this.handshakeTimer = null;
    // Refused or closing meanwhile: what the peer sent is not ours to act on.
    if (this.phase !== 'open' || this.session === null) return;
    try {
      for (const body of frames) if (!this.onFrame(body)) return;
    } catch (e) {
      this.fail(toNetchanError(e));
    }
  }

  private bound(kind: string): Session {
    if (this.session === null) throw new NetchanError('EPROTO', `${kind} before the handshake was accepted`);
    return this.session;
  }

  /** Reads a MessagePack unsigned integer at `p`; leaves the next position in `this.pos`. */
  private readUint(b: Uint8Array, p: number): number {
    const m = b[p];
    if (m === undefined) throw new NetchanError('EPROTO', 'truncated frame');
    if (m < 0x80) {
      this.pos = p + 1;
      return m;
    }
    const need = m === 0xcc ? 1 : m === 0xcd ? 2 : m === 0xce ? 4 : m === 0xcf ? 8 : -1;
    if (need < 0) throw new NetchanError('EPROTO', `malformed frame: expected an unsigned integer, got byte 0x${m.toString(16)}`);
    if (p + 1 + need > b.length) throw new NetchanError('EPROTO', 'truncated frame');
    let n = 0;
    for (let i = 1; i <= need; i++) n = n * 256 + b[p + i]!;
    if (!Number.isSafeInteger(n)) throw new NetchanError('EPROTO', `malformed frame: ${n} is past 2^53`);
    this.pos = p + 1 + need;
    return n;
  }

  // ---- outgoing pressure ----

  /** The transport's buffer went over its high-water mark. */
  private congest(): void {
    if (this.phase === 'closed') return;
    if (!this.congested) {
      this.congested = true;
      this.congestedAt = this.writer.bytesOut;
      const ms = this.settings.writeTimeoutMs;
      if (ms > 0) {
        this.writeTimer = this.settings.scheduler.schedule(() => {
          this.writeTimer = null;
          this.destroy(new NetchanError('ETIMEDOUT', `connection to ${this.remote}: the peer left our writes unread for ${ms} ms (writeTimeout)`));
        }, ms);
      }
      return;
    }
    // Only control frames go out while congested; a peer that makes us queue many is not reading.
    const queued = this.writer.bytesOut - this.congestedAt;
    if (queued > MAX_CONGESTED_CONTROL_BYTES) {
      this.destroy(new NetchanError('EOVERFLOW', `connection to ${this.remote}: the peer is not reading (${queued} bytes of control frames queued)`));
    }
  }

  // ---- keepalive ----

  private armKeepalive(interval: number): void {
    this.keepaliveTimer = this.settings.scheduler.schedule(keepaliveCheck, interval, this);
  }

  /** @internal The keepalive check: PING once `interval` passed without input; close once that PING went unanswered as long. */
  checkKeepalive(action: SchedulerAction<Link>): void {
    if (this.phase === 'closed') return;
    const interval = this.settings.keepaliveMs;
    const now = this.settings.scheduler.now();
    if (this.pingSentAt > 0 && this.lastRx < this.pingSentAt) {
      const waited = now - this.pingSentAt;
      if (waited >= interval) {
        const idle = now - this.lastRx;
        this.destroy(new NetchanError('ECLOSED', `connection to ${this.remote}: nothing received for ${idle} ms, PING unanswered (keepalive ${interval} ms)`));
        return;
      }
      action.schedule(this, interval - waited);
      return;
    }
    const quiet = now - this.lastRx;
    if (quiet >= interval) {
      this.pingSentAt = now;
      if (!this.congested) {
        this.writer.control(this.session ? [FrameType.Ping, this.session.receiptForPing()] : [FrameType.Ping]);
        this.writer.flush();
      }
      action.schedule(this, interval);
      return;
    }
    action.schedule(this, interval - quiet);
  }

  private stopTimers(): void {
    this.keepaliveTimer?.unsubscribe();
    this.keepaliveTimer = null;
    this.handshakeTimer?.unsubscribe();
    this.handshakeTimer = null;
    this.writeTimer?.unsubscribe();
    this.writeTimer = null;
  }

  private teardown(err: NetchanError | undefined): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.stopTimers();
    if (this.queries.size > 0) {
      const closed = new NetchanError('ECLOSED', `connection to ${this.remote} ended before the answer`, err ? { cause: err } : undefined);
      for (const q of this.queries.values()) q.reject(closed);
      this.queries.clear();
    }
    this.writer.dispose();
    this.decoder.reset();
    this.held = null;
    if (err && !this.closeError) {
      this.closeError = err;
      this.owner.linkError(this, err);
    }
    this.owner.linkClosed(this, err);
  }
}

function keepaliveCheck(this: SchedulerAction<Link>, link?: Link): void {
  link?.checkKeepalive(this);
}

export function toNetchanError(e: unknown): NetchanError {
  if (isNetchanError(e)) return e;
  return new NetchanError('EPROTO', e instanceof Error ? e.message : String(e), { cause: e });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
