// Plays an ExporterPlan to one importer that dialed us, and judges its answers:
// it must refuse what the spec refuses (closing with EPROTO/ETOOBIG), accept
// the rest, respect the window of its send binding, and keep answering.
import { FakePeer, REFUSAL_CODES, type PeerConfig, type PeerOutcome } from './fakePeer.js';
import { IMPORTER_BINDINGS, type ExporterBadFrame, type ExporterOp, type ExporterPlan } from './exporterPlan.js';
import { OUR_CODES } from './frameLayouts.js';
import { hex } from './msgpackBytes.js';
import type { HostileValue } from './msgpackHostile.js';
import type { PeerSocket } from './peerSocket.js';
import { show } from './planParts.js';
import { buildFrame, buildFrameRaw, dataFrame } from './frameBuilder.js';
import { T, type Incoming } from './wire.js';

/** A recv binding of the importer: we send on it. */
interface Outgoing {
  readonly id: number;
  readonly name: string;
  readonly size: number;
  sent: number;
  acked: number;
  done: boolean;
}

/** The importer's send binding: it sends, we acknowledge. */
interface Incoming_ {
  readonly id: number;
  readonly size: number;
  received: number;
  ackWritten: number;
  done: boolean;
}

/** Plays `plan` on `peer`, an importer's connection to us. */
export async function runExporterPlan(plan: ExporterPlan, peer: PeerSocket, config: PeerConfig): Promise<PeerOutcome> {
  const run = new FakeExporter(peer, config);
  try {
    await run.play(plan);
  } finally {
    peer.destroy();
  }
  return run.outcome();
}

class FakeExporter extends FakePeer {
  protected readonly other = 'importer';
  private readonly out: Outgoing[] = [];
  private inb: Incoming_ | null = null;
  private opened = 0;
  private helloSeen = false;
  private highestId = 0;

  constructor(peer: PeerSocket, config: PeerConfig) {
    super(peer, config);
    peer.onFrame = (f) => this.onFrame(f);
  }

  async play(plan: ExporterPlan): Promise<void> {
    // The importer speaks first: HELLO, then an OPEN per import.
    const r = await this.peer.until(() => (this.opened >= 3 ? 'open' : this.peer.closed ? 'closed' : undefined), this.answerMs);
    if (r !== 'open') return void (r === 'timeout' && this.silent('waiting for the importer\'s HELLO and OPENs'));
    if (!(await this.hello(plan))) return;
    let written = 0;
    for (const op of plan.ops) {
      if (this.peer.closed || this.gaveUp) break;
      const before = this.peer.framesSent;
      await this.op(op);
      written += this.peer.framesSent - before;
      if (written >= 32) {
        written = 0;
        await this.peer.flush();
      }
    }
    if (this.gaveUp) return;
    if (this.peer.closed) return this.refused ? undefined : this.unexpectedClose();
    if (!(await this.sync('before the finale'))) return;
    await this.finale(plan.finale);
  }

  private async hello(plan: ExporterPlan): Promise<boolean> {
    const h = plan.hello;
    const bytes = buildFrameRaw('HELLO', {}, { options: h.options.bytes }, { version: h.version });
    this.write(bytes, h.expect === 'accept' ? 'HELLO' : `${h.label}: ${hex(h.options.bytes)}`, h.expect !== 'accept' ? h.options : undefined);
    if (h.expect === 'accept') return true;
    const r = await this.barrier();
    if (r === 'closed') return this.refusal(REFUSAL_CODES, true);
    if (r === 'timeout') return this.silent(`after ${h.label}`);
    if (h.expect === 'refuse') this.flag('accepted-invalid', `the importer accepted ${h.label}`);
    return true;
  }

  private pickOut(n: number): Outgoing | undefined {
    const live = this.out.filter((o) => !o.done);
    return live.length === 0 ? undefined : live[n % live.length];
  }

  private async op(op: ExporterOp): Promise<void> {
    switch (op.op) {
      case 'data':
        return this.data(op.pick, op.n, op.value);
      case 'ack': {
        const b = this.inb;
        if (!b) return;
        const seq = op.how === 'all' ? b.received : op.how === 'half' ? b.ackWritten + Math.ceil((b.received - b.ackWritten) / 2) : Math.max(0, b.ackWritten - 1);
        this.write(buildFrame('ACK', { id: b.id, received: seq }), op.how === 'stale' ? `ACK ${b.id} ${seq} (stale)` : undefined);
        b.ackWritten = Math.max(b.ackWritten, seq);
        return;
      }
      case 'end': {
        const o = this.pickOut(op.pick);
        if (!o) return;
        this.write(buildFrame('END', { id: o.id, sent: o.sent }), `END ${o.id}`);
        o.done = true;
        return;
      }
      case 'cancel': {
        if (!this.inb || this.inb.done) return;
        this.write(buildFrame('CANCEL', { id: this.inb.id, received: this.inb.received }), `CANCEL ${this.inb.id}`);
        this.inb.done = true;
        return;
      }
      case 'bindingError': {
        const o = this.pickOut(op.pick);
        if (!o) return;
        this.write(buildFrame('ERROR', { id: o.id, code: op.code, text: `${this.marker} binding error` }), `ERROR ${o.id} ${JSON.stringify(op.code)}`);
        o.done = true;
        return;
      }
      case 'ping':
        await this.sync('at a PING');
        return;
      case 'split':
        this.splitNext = op.at;
        return;
      case 'wait':
        await this.peer.flush();
        await this.peer.next(2);
        return;
    }
  }

  private async data(pick: number, n: number, value: HostileValue): Promise<void> {
    const o = this.pickOut(pick);
    if (!o) return;
    const hostile = value.verdict !== 'valid';
    const bytes = dataFrame(o.id, value.bytes);
    for (let i = 0; i < (hostile ? 1 : n) && !o.done; i++) {
      if (o.sent - o.acked >= o.size) {
        // Window full: the importer acknowledges on delivery ('a') or a moment later ('b').
        await this.peer.flush();
        const r = await this.peer.until(() => (o.sent - o.acked < o.size ? 'room' : this.peer.closed ? 'closed' : undefined), this.answerMs);
        if (r === 'timeout') return void this.silent(`no ACK on "${o.name}" with ${o.sent - o.acked} unacknowledged`);
        if (r === 'closed') return;
      }
      this.write(bytes, hostile ? `DATA ${o.id} ${value.label}: ${hex(value.bytes)}` : undefined, hostile ? value : undefined);
      o.sent++;
    }
    if (!hostile) return;
    const r = await this.barrier();
    if (r === 'closed') this.refusal(REFUSAL_CODES, true);
    else if (r === 'timeout') this.silent(`after DATA ${value.label}`);
  }

  protected async violation(bad: ExporterBadFrame): Promise<void> {
    this.ending = false;
    const codes = bad.bad === 'tooBig' ? ['ETOOBIG'] : ['EPROTO'];
    let label: string;
    const a = this.out[0];
    switch (bad.bad) {
      case 'unknownType':
      case 'notArray':
      case 'empty':
      case 'tooBig':
        label = this.writeFramingViolation(bad);
        break;
      case 'dataUnopened': {
        const id = this.highestId + bad.ahead;
        label = `DATA for binding ${id}, never opened`;
        this.write(dataFrame(id, Uint8Array.from([0x01])), label);
        break;
      }
      case 'pastWindow': {
        // All in one write, so the importer reads them in one go. It must not
        // acknowledge in the middle of that read: 'b' acknowledges a moment
        // later, and 'a' only once 32 values are ready (early ACK), so a window
        // over 32 on 'a' could legally move.
        const o = this.out.find((x) => !x.done && x.sent === x.acked && (x.name === 'b' || x.size <= 32));
        if (!o) return this.finale({ kind: 'bye' }); // nothing to overflow now
        label = `${o.size + 1} DATA on "${o.name}" with window ${o.size}`;
        for (let i = 0; i <= o.size; i++) this.write(dataFrame(o.id, Uint8Array.from([i & 0x7f])), i === o.size ? label : undefined);
        o.sent += o.size + 1;
        break;
      }
      case 'ackBeyond': {
        const b = this.inb;
        // On a live binding: an ACK for one already cancelled is a late frame, ignored by the spec.
        if (!b || b.done) return this.finale({ kind: 'bye' });
        const seq = b.received + b.size + 1;
        label = `ACK ${b.id} ${seq}, beyond what was sent`;
        this.write(buildFrame('ACK', { id: b.id, received: seq }), label);
        break;
      }
      case 'helloTwice':
        label = 'HELLO twice';
        this.write(buildFrame('HELLO'), label);
        break;
      case 'openFromExporter':
        // Either side may open a binding, but in its own id space: an odd id is the importer's.
        label = "OPEN from the exporter in the importer's id space";
        this.write(buildFrame('OPEN', { id: (this.highestId | 1) + 2, channel: 'x', dir: 0, window: 1 }), label);
        break;
      case 'badValue': {
        const o = this.out.find((x) => !x.done && x.sent - x.acked < x.size);
        if (!o) return this.finale({ kind: 'bye' });
        label = `DATA ${o.id} ${bad.value.label}: ${hex(bad.value.bytes)}`;
        this.write(dataFrame(o.id, bad.value.bytes), label, bad.value);
        break;
      }
      case 'field': {
        label = `${bad.frame} with ${bad.field}=${show(bad.value)}`;
        const id = bad.frame === 'ACK' || bad.frame === 'CANCEL' ? (this.inb?.id ?? 3) : (a?.id ?? 1);
        this.write(buildFrame(bad.frame, { id, text: this.marker }, { [bad.field]: bad.value }), label);
        break;
      }
    }
    await this.judgeViolation(codes, label);
  }

  private onFrame(f: Incoming): void {
    switch (f.type) {
      case T.Hello:
        this.helloSeen = true;
        return;
      case T.Open: {
        const [, id, name, dir, size] = f.fields;
        this.opened++;
        if (!this.helloSeen) this.flag('garbled', 'the importer sent OPEN before HELLO');
        if (typeof id !== 'number' || id <= this.highestId) return this.flag('garbled', `the importer's OPEN has id ${show(id)} after ${this.highestId}`);
        this.highestId = id;
        const want = IMPORTER_BINDINGS[name as keyof typeof IMPORTER_BINDINGS];
        if (!want || (want.dir === 'recv') !== (dir === 0)) return;
        const s = typeof size === 'number' ? size : 1;
        if (want.dir === 'recv') this.out.push({ id, name: String(name), size: s, sent: 0, acked: 0, done: false });
        else this.inb = { id, size: s, received: 0, ackWritten: 0, done: false };
        return;
      }
      case T.Data: {
        const b = this.inb;
        if (!b || f.id !== b.id) return this.flag('window', `the importer sent DATA on binding ${f.id}, which is not its send binding`);
        b.received++;
        if (b.received - b.ackWritten > b.size) this.flag('window', `the importer has ${b.received - b.ackWritten} values unacknowledged on binding ${b.id}, window ${b.size}`);
        return;
      }
      case T.Ack: {
        const o = this.out.find((x) => x.id === f.id);
        if (!o) return;
        if (f.seq > o.sent) return this.flag('garbled', `the importer acknowledged ${f.seq} on "${o.name}", which carried ${o.sent}`);
        o.acked = Math.max(o.acked, f.seq);
        return;
      }
      case T.Cancel: {
        const o = this.out.find((x) => x.id === f.id);
        if (o) o.done = true;
        return;
      }
      case T.End:
        if (this.inb && f.id === this.inb.id) this.inb.done = true;
        return;
      case T.Error:
        if (f.id !== 0 && !OUR_CODES.has(f.code)) this.flag('foreign-error', `the importer sent ERROR for binding ${f.id} with code ${JSON.stringify(f.code)}`);
        return;
      default:
        return;
    }
  }
}
