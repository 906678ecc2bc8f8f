import { NetchanError } from '../errors/NetchanError.js';
import { FrameType, WireDir } from '../protocol/frame.js';
import type { Connection } from '../transport/Connection.js';
import { ExportedRecvChannel } from './ExportedRecvChannel.js';
import { Inbound } from './Inbound.js';
import { Outbound } from './Outbound.js';
import { remoteError } from './remoteError.js';
import { Session, type SessionSettings } from './Session.js';
import type { SendChannel } from './ExportedSendChannel.js';

/** What a session needs from its Exporter. */
export interface ExporterHost {
  lookup(name: string): SendChannel<unknown> | ExportedRecvChannel<unknown> | undefined;
  authenticate(auth: unknown, remote: string): boolean;
  readonly maxWindow: number;
  readonly maxBindings: number;
  sessionError(session: ExporterSession, err: NetchanError): void;
  sessionClosed(session: ExporterSession): void;
}

/** One importer's connection to an Exporter. */
export class ExporterSession extends Session {
  /** Scheduler time when the connection was accepted. */
  readonly since: number;

  constructor(
    conn: Connection,
    settings: SessionSettings,
    private readonly host: ExporterHost,
  ) {
    super(conn, settings);
    this.since = settings.scheduler.now();
    this.begin();
  }

  /** Bindings open on this connection. */
  get bindings(): number {
    return this.outbound.size + this.inbound.size;
  }

  protected onHello(options: Record<string, unknown>): void {
    if (!this.host.authenticate(options['auth'], this.remote)) {
      throw new NetchanError('EAUTH', `importer at ${this.remote} was refused by the exporter's authenticate hook`);
    }
    this.sendHello();
  }

  protected reportError(err: NetchanError): void {
    this.host.sessionError(this, err);
  }

  protected onControl(type: number, frame: unknown[]): void {
    switch (type) {
      case FrameType.Open:
        this.open(frame);
        return;
      case FrameType.End:
        return this.endInbound(uint(frame[1], 'END'));
      case FrameType.Cancel: {
        const id = uint(frame[1], 'CANCEL');
        const out = this.outbound.get(id);
        if (out === undefined) return this.unknownId('CANCEL', id);
        this.outbound.delete(id);
        out.dispatcher.lose(out);
        return;
      }
      case FrameType.Error: {
        const id = uint(frame[1], 'ERROR');
        const inb = this.inbound.get(id);
        if (inb !== undefined) {
          this.inbound.delete(id);
          inb.dead = true;
          inb.sink.error(remoteError(frame), inb);
          return;
        }
        const out = this.outbound.get(id);
        if (out !== undefined) {
          // The importer gave up on a binding it receives on: treat as cancel.
          this.outbound.delete(id);
          out.dispatcher.lose(out);
          return;
        }
        return this.unknownId('ERROR', id);
      }
      default:
        throw new NetchanError('EPROTO', `frame type ${type} is not valid from an importer`);
    }
  }

  private open(frame: unknown[]): void {
    const [, rawId, name, dir, rawSize, rawCount] = frame;
    const id = uint(rawId, 'OPEN');
    if (typeof name !== 'string' || (dir !== WireDir.Recv && dir !== WireDir.Send) || typeof rawSize !== 'number' || typeof rawCount !== 'number') {
      throw new NetchanError('EPROTO', 'malformed OPEN frame');
    }
    if (id <= this.highestId) throw new NetchanError('EPROTO', `OPEN reuses binding id ${id}`);
    this.highestId = id;
    if (this.bindings >= this.host.maxBindings) {
      this.sendError(id, { code: 'EPROTO', message: `channel "${name}": too many bindings on one connection (maxBindings ${this.host.maxBindings})` });
      return;
    }
    const size = Math.max(1, Math.floor(rawSize));
    if (size > this.host.maxWindow) {
      this.sendError(id, { code: 'EPROTO', message: `channel "${name}": window ${size} > the exporter's maxWindow (${this.host.maxWindow})` });
      return;
    }
    const limit = rawCount < 0 ? Infinity : Math.floor(rawCount);
    const ch = this.host.lookup(name);
    if (ch === undefined) {
      this.sendError(id, { code: 'ENOCHAN', message: `no such channel: "${name}"` });
      return;
    }
    if (ch instanceof ExportedRecvChannel) {
      if (dir !== WireDir.Send) {
        this.sendError(id, { code: 'EDIR', message: `wrong direction for channel "${name}": it is exported for 'recv', so import it with 'send'` });
        return;
      }
      const inb = new Inbound(this, id, name, size, limit, ch);
      this.inbound.set(id, inb);
      ch.addInbound(inb);
      return;
    }
    if (dir !== WireDir.Recv) {
      this.sendError(id, { code: 'EDIR', message: `wrong direction for channel "${name}": it is exported for 'send', so import it with 'recv'` });
      return;
    }
    if (limit === 0) return;
    const out = new Outbound(this, id, size, limit, ch.dispatcher);
    this.outbound.set(id, out);
    ch.dispatcher.attach(out);
  }

  protected onTeardown(): void {
    for (const out of this.outbound.values()) out.dispatcher.lose(out);
    for (const inb of this.inbound.values()) {
      inb.dead = true;
      (inb.sink as ExportedRecvChannel<unknown>).lose(inb);
    }
    this.host.sessionClosed(this);
  }
}

function uint(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new NetchanError('EPROTO', `malformed ${what} frame`);
  return v;
}

