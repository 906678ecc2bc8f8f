import type { SchedulerLike, Subscription } from 'rxjs';
import { NetchanError, isNetchanError } from '../errors/NetchanError.js';
import { ValueCodec } from '../protocol/codec.js';
import { FrameType } from '../protocol/frame.js';
import { PROTOCOL_VERSION } from '../protocol/limits.js';
import { FrameDecoder } from '../protocol/FrameDecoder.js';
import { FrameWriter } from '../protocol/FrameWriter.js';
import type { Connection, ConnectionHandler } from '../transport/Connection.js';
import type { Inbound } from './Inbound.js';
import type { Outbound } from './Outbound.js';

/** Settings every connection endpoint shares. */
export interface SessionSettings {
  maxFrameBytes: number;
  keepaliveMs: number;
  scheduler: SchedulerLike;
  flushScheduler: SchedulerLike;
}

/** Counters for one connection. */
export interface SessionStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
}

/**
 * The protocol engine for one connection, shared by both roles: framing,
 * the handshake, per-binding DATA/ACK routing, batched acknowledgements,
 * keepalive and teardown. {@link ExporterSession} and the Importer add the
 * role-specific frames (OPEN, END, CANCEL, per-binding ERROR).
 */
export abstract class Session implements ConnectionHandler {
  readonly codec: ValueCodec;
  readonly writer: FrameWriter;
  private readonly decoder: FrameDecoder;
  protected readonly outbound = new Map<number, Outbound>();
  protected readonly inbound = new Map<number, Inbound>();
  private ackQueue: Inbound[] = [];
  /** 'hello': waiting for the peer's HELLO; 'open': running; then closing/closed. */
  state: 'hello' | 'open' | 'closing' | 'closed' = 'hello';
  /** Frame limit of the peer (from its HELLO); values are checked against the smaller one. */
  peerMaxFrameBytes: number;
  /** Highest binding id seen or allocated: DATA for a lower unknown id is a late frame, not an error. */
  protected highestId = 0;
  private lastRx: number;
  private keepaliveTimer: Subscription | null = null;
  /** When the unanswered PING went out (0: none outstanding). */
  private pingSentAt = 0;
  private byeReceived = false;
  private closedResolvers: Array<() => void> = [];
  framesIn = 0;
  bytesIn = 0;
  closeError: NetchanError | undefined;

  constructor(
    readonly conn: Connection,
    readonly settings: SessionSettings,
  ) {
    this.codec = new ValueCodec(settings.maxFrameBytes);
    this.peerMaxFrameBytes = settings.maxFrameBytes;
    this.decoder = new FrameDecoder(settings.maxFrameBytes);
    this.writer = new FrameWriter(conn, this.codec, settings.flushScheduler);
    this.writer.beforeFlush = () => this.writeAcks();
    this.lastRx = settings.scheduler.now();
  }

  /** Starts reading; call once the subclass is ready. */
  protected begin(): void {
    this.conn.start(this);
    if (this.conn.keepalive && this.settings.keepaliveMs > 0) this.armKeepalive();
  }

  get remote(): string {
    return this.conn.remote;
  }

  get stats(): SessionStats {
    return { framesIn: this.framesIn, framesOut: this.writer.framesOut, bytesIn: this.bytesIn, bytesOut: this.writer.bytesOut };
  }

  /** Largest value payload this connection can carry. */
  get frameLimit(): number {
    return Math.min(this.settings.maxFrameBytes, this.peerMaxFrameBytes);
  }

  // ---- ConnectionHandler ----

  onData(chunk: Uint8Array): void {
    if (this.state === 'closed') return;
    this.lastRx = this.settings.scheduler.now();
    this.bytesIn += chunk.length;
    try {
      this.decoder.push(chunk, this.onFrame);
    } catch (e) {
      this.fail(toNetchanError(e));
    }
  }

  onClose(error?: Error): void {
    if (this.state === 'closed') return;
    let err: NetchanError | undefined;
    if (this.closeError) err = this.closeError;
    // A transport that closed because of bad input (a WebSocket text message, say) reports it with its own code.
    else if (error && isNetchanError(error)) err = error;
    else if (error) err = new NetchanError('ECLOSED', `connection to ${this.remote} failed: ${error.message}`, { cause: error });
    else if (this.decoder.buffered > 0) err = new NetchanError('EPROTO', `connection to ${this.remote} ended mid-frame (${this.decoder.buffered} bytes of an unfinished frame)`);
    else if (this.state !== 'closing' && !this.byeReceived) err = new NetchanError('ECLOSED', `connection to ${this.remote} ended`);
    else if (this.state !== 'closing') err = new NetchanError('ECLOSED', `${this.remote} closed the connection`);
    this.teardown(err);
  }

  // ---- outgoing ----

  sendEnd(id: number): void {
    this.writer.control([FrameType.End, id]);
  }

  sendCancel(id: number): void {
    this.writer.control([FrameType.Cancel, id]);
  }

  sendError(id: number, error: { code?: unknown; message?: unknown }): void {
    const code = typeof error.code === 'string' ? error.code : 'EREMOTE';
    const message = typeof error.message === 'string' ? error.message : String(error);
    this.writer.control([FrameType.Error, id, code, message]);
  }

  /** An inbound binding has something to acknowledge: write it at the next flush. */
  queueAck(inb: Inbound): void {
    // Pipelining: once half a large window is ready to acknowledge in the middle of
    // a big read, return that credit now so the sender refills while we work on
    // the rest, instead of the two sides taking turns. Small windows just ack at
    // the end of the tick.
    if (inb.ackable - inb.acked >= inb.earlyAckAt && this.state === 'open') {
      this.writeAckNow(inb);
      this.writer.flush();
      return;
    }
    if (!inb.ackQueued) {
      inb.ackQueued = true;
      this.ackQueue.push(inb);
      this.writer.schedule();
    }
  }

  /** Writes a binding's pending acknowledgement now (before a CANCEL, say). */
  writeAckNow(inb: Inbound): void {
    if (inb.ackable > inb.acked) {
      inb.acked = inb.ackable;
      this.writer.ack(inb.id, inb.ackable);
    }
  }

  /** Forgets an inbound binding (hangup). */
  forgetInbound(id: number): void {
    this.inbound.delete(id);
  }

  /** Forgets a finished outbound binding. */
  release(id: number): void {
    this.outbound.delete(id);
  }

  /** Ends the connection gracefully: BYE, flush, close. Resolves once closed. */
  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    const done = new Promise<void>((resolve) => this.closedResolvers.push(resolve));
    if (this.state !== 'closing') {
      this.state = 'closing';
      this.writer.control([FrameType.Bye]);
      this.writer.flush();
      this.conn.close();
    }
    return done;
  }

  /** Ends the connection because of `err`: tell the peer, then close. */
  fail(err: NetchanError): void {
    if (this.state === 'closed' || this.closeError) return;
    this.closeError = err;
    this.reportError(err);
    if (this.state !== 'closing') {
      this.state = 'closing';
      this.writer.control([FrameType.Error, 0, err.code, err.message]);
      this.writer.flush();
    }
    this.conn.close();
  }

  // ---- for subclasses ----

  /** The peer's HELLO arrived and was valid. */
  protected abstract onHello(options: Record<string, unknown>): void;
  /** A frame other than HELLO/DATA/ACK/PING/PONG/BYE/connection ERROR. */
  protected abstract onControl(type: number, frame: unknown[]): void;
  /** A connection-level error or closure to report. */
  protected abstract reportError(err: NetchanError): void;
  /** The connection is gone: release bindings. */
  protected abstract onTeardown(err: NetchanError | undefined): void;

  protected sendHello(extra: Record<string, unknown> = {}): void {
    this.writer.control([
      FrameType.Hello,
      PROTOCOL_VERSION,
      { maxFrameBytes: this.settings.maxFrameBytes, keepalive: this.settings.keepaliveMs, ...extra },
    ]);
  }

  /** END for a binding this side receives on: the sender has no more values. */
  protected endInbound(id: number): void {
    const inb = this.inbound.get(id);
    if (inb === undefined) return this.unknownId('END', id);
    this.inbound.delete(id);
    inb.ended = true;
    inb.sink.end(inb);
  }

  /** A DATA/ACK for an id not bound here: late (ignore) or never bound (violation). */
  protected unknownId(kind: string, id: number): void {
    if (id > this.highestId || id === 0) {
      throw new NetchanError('EPROTO', `${kind} for binding ${id}, which was never opened`);
    }
  }

  // ---- incoming ----

  private readonly onFrame = (body: Uint8Array): boolean => {
    if (this.state === 'closed' || this.closeError) return false;
    this.framesIn++;
    const marker = body[0]!;
    if (marker < 0x91 || marker > 0x9f || body.length < 2) {
      throw new NetchanError('EPROTO', `malformed frame: expected a MessagePack array, got byte 0x${marker.toString(16)}`);
    }
    const type = body[1]!;
    // BYE may come before HELLO: an exporter closing while an importer's handshake is under way.
    if (this.state === 'hello' && type !== FrameType.Hello && type !== FrameType.Error && type !== FrameType.Bye) {
      throw new NetchanError('EPROTO', `expected HELLO as the first frame, got frame type ${type}`);
    }
    switch (type) {
      case FrameType.Data: {
        if (marker !== 0x93) throw new NetchanError('EPROTO', 'malformed DATA frame');
        const id = this.readUint(body, 2);
        const inb = this.inbound.get(id);
        if (inb === undefined) this.unknownId('DATA', id);
        else inb.receive(body.subarray(this.pos));
        break;
      }
      case FrameType.Ack: {
        if (marker !== 0x93) throw new NetchanError('EPROTO', 'malformed ACK frame');
        const id = this.readUint(body, 2);
        const seq = this.readUint(body, this.pos);
        if (this.pos !== body.length) throw new NetchanError('EPROTO', 'malformed ACK frame: trailing bytes');
        const out = this.outbound.get(id);
        if (out === undefined) this.unknownId('ACK', id);
        else if (!out.ack(seq)) {
          throw new NetchanError('EPROTO', `ACK ${seq} for binding ${id} of channel "${out.dispatcher.name}", which was sent only ${out.sent} value(s)`);
        }
        break;
      }
      default: {
        const frame = this.codec.decodeControl(body);
        if (!Array.isArray(frame)) throw new NetchanError('EPROTO', 'malformed frame');
        this.control(type, frame);
      }
    }
    return (this.state as string) !== 'closed' && !this.closeError;
  };

  private control(type: number, frame: unknown[]): void {
    switch (type) {
      case FrameType.Hello: {
        if (this.state !== 'hello') throw new NetchanError('EPROTO', 'HELLO received twice');
        const [, version, options] = frame;
        if (version !== PROTOCOL_VERSION) {
          throw new NetchanError('EPROTO', `unsupported protocol version ${String(version)}; this side speaks ${PROTOCOL_VERSION}`);
        }
        const opts = isRecord(options) ? options : {};
        if (typeof opts['maxFrameBytes'] === 'number' && opts['maxFrameBytes'] > 0) this.peerMaxFrameBytes = opts['maxFrameBytes'];
        this.state = 'open';
        this.onHello(opts);
        break;
      }
      case FrameType.Ping:
        this.writer.control([FrameType.Pong]);
        break;
      case FrameType.Pong:
        break;
      case FrameType.Bye:
        this.byeReceived = true;
        this.conn.close();
        break;
      case FrameType.Error:
        if (frame[1] === 0) {
          const code = typeof frame[2] === 'string' ? frame[2] : 'EPROTO';
          const err = new NetchanError(code as NetchanError['code'], `${this.remote}: ${String(frame[3])}`);
          this.closeError = err;
          this.reportError(err);
          this.conn.close();
          break;
        }
        this.onControl(type, frame);
        break;
      default:
        if (type > FrameType.Bye) throw new NetchanError('EPROTO', `unknown frame type ${type}`);
        this.onControl(type, frame);
    }
  }

  private pos = 0;

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
    this.pos = p + 1 + need;
    return n;
  }

  private writeAcks(): void {
    const q = this.ackQueue;
    if (q.length === 0) return;
    this.ackQueue = [];
    for (const inb of q) {
      inb.ackQueued = false;
      this.writeAckNow(inb);
    }
  }

  private armKeepalive(): void {
    const interval = this.settings.keepaliveMs;
    this.keepaliveTimer = this.settings.scheduler.schedule(function (this: import('rxjs').SchedulerAction<Session>, s) {
      const session = s!;
      if ((session.state as string) === 'closed') return;
      const now = session.settings.scheduler.now();
      // Close only after a PING went unanswered for a whole interval: after an
      // event-loop stall this check can run before the socket has been read, and
      // that must cost a PING, not the connection.
      if (session.pingSentAt > 0 && session.lastRx < session.pingSentAt) {
        if (now - session.pingSentAt >= interval) {
          const idle = now - session.lastRx;
          session.fail(new NetchanError('ECLOSED', `connection to ${session.remote}: nothing received for ${idle} ms, PING unanswered (keepalive ${interval} ms)`));
          return;
        }
      } else if (now - session.lastRx >= interval) {
        session.pingSentAt = now;
        session.writer.control([FrameType.Ping]);
      } else {
        session.pingSentAt = 0;
      }
      this.schedule(session, interval);
    }, interval, this);
  }

  private teardown(err: NetchanError | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.keepaliveTimer?.unsubscribe();
    this.keepaliveTimer = null;
    this.writer.dispose();
    this.decoder.reset();
    this.ackQueue = [];
    if (err && !this.closeError) {
      this.closeError = err;
      this.reportError(err);
    }
    this.onTeardown(err);
    this.outbound.clear();
    this.inbound.clear();
    const rs = this.closedResolvers;
    this.closedResolvers = [];
    for (const r of rs) r();
  }

}

export function toNetchanError(e: unknown): NetchanError {
  if (isNetchanError(e)) return e;
  return new NetchanError('EPROTO', e instanceof Error ? e.message : String(e), { cause: e });
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
