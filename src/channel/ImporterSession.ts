import { NetchanError } from '../errors/NetchanError.js';
import { FrameType } from '../protocol/frame.js';
import type { Connection } from '../transport/Connection.js';
import type { Inbound } from './Inbound.js';
import type { Outbound } from './Outbound.js';
import { remoteError } from './remoteError.js';
import { Session, type SessionSettings } from './Session.js';

/** What an importer's session reports back. */
export interface ImporterHost {
  connectionError(err: NetchanError): void;
  /** A send binding was cancelled (hangup) or errored by the exporter. */
  outboundEnded(out: Outbound, err?: NetchanError): void;
  /** The connection is gone. */
  closed(err: NetchanError | undefined): void;
}

/** The importer's end of its one connection. */
export class ImporterSession extends Session {
  constructor(
    conn: Connection,
    settings: SessionSettings,
    private readonly host: ImporterHost,
    auth: unknown,
  ) {
    super(conn, settings);
    this.sendHello(auth === undefined ? {} : { auth });
    this.begin();
  }

  /** Allocates the next binding id. */
  nextId(): number {
    return ++this.highestId;
  }

  addInbound(inb: Inbound): void {
    this.inbound.set(inb.id, inb);
  }

  addOutbound(out: Outbound): void {
    this.outbound.set(out.id, out);
  }

  /** Unbinds a receiving binding whose subscriber went away: acks first, so only undelivered values are requeued. */
  unbind(inb: Inbound): void {
    if (this.inbound.get(inb.id) !== inb) return;
    this.inbound.delete(inb.id);
    inb.dead = true;
    if (this.state === 'open' || this.state === 'hello') {
      this.writeAckNow(inb);
      this.sendCancel(inb.id);
    }
  }

  protected onHello(): void {}

  protected reportError(err: NetchanError): void {
    this.host.connectionError(err);
  }

  protected onControl(type: number, frame: unknown[]): void {
    const id = frame[1];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new NetchanError('EPROTO', 'malformed frame: bad binding id');
    switch (type) {
      case FrameType.End:
        return this.endInbound(id);
      case FrameType.Cancel: {
        const out = this.outbound.get(id);
        if (out === undefined) return this.unknownId('CANCEL', id);
        this.outbound.delete(id);
        this.host.outboundEnded(out);
        return;
      }
      case FrameType.Error: {
        const err = remoteError(frame);
        const inb = this.inbound.get(id);
        if (inb !== undefined) {
          // Acknowledge what was delivered, then unbind, so the exporter requeues
          // only what never arrived (as on unsubscribe).
          this.unbind(inb);
          inb.sink.error(err, inb);
          return;
        }
        const out = this.outbound.get(id);
        if (out !== undefined) {
          this.outbound.delete(id);
          this.host.outboundEnded(out, err);
          return;
        }
        return this.unknownId('ERROR', id);
      }
      default:
        throw new NetchanError('EPROTO', `frame type ${type} is not valid from an exporter`);
    }
  }

  protected onTeardown(err: NetchanError | undefined): void {
    const lost = err ?? new NetchanError('ECLOSED', 'importer closed');
    for (const inb of [...this.inbound.values()]) {
      inb.dead = true;
      if (err) inb.sink.error(lost, inb);
      else inb.sink.end(inb);
    }
    for (const out of [...this.outbound.values()]) out.dispatcher.lose(out);
    this.host.closed(err);
  }
}
