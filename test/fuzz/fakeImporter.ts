// Plays an ImporterPlan against an exporter over a raw TCP socket and judges
// every answer against the protocol: refusals must come for the frames the
// spec refuses (with the right code), never for valid ones; the exporter must
// respect the windows we grant; and it must keep answering.
export type { PeerOutcome, PeerConfig } from './fakePeer.js';
import { connect } from 'node:net';
import { hex } from './msgpackBytes.js';
import type { HostileValue } from './msgpackHostile.js';
import { TARGET_CHANNELS, TARGET_MAX_WINDOW, type BadFrame, type ImporterOp, type ImporterPlan } from './importerPlan.js';
import { show } from './planParts.js';
import { inDomain, layout, OUR_CODES, PROTOCOL_VERSION } from './frameLayouts.js';
import { FakePeer, REFUSAL_CODES, type PeerConfig, type PeerOutcome } from './fakePeer.js';
import { PeerSocket } from './peerSocket.js';
import { buildFrame, buildFrameRaw, dataFrame } from './frameBuilder.js';
import { T, type Incoming } from './wire.js';

interface SendBinding {
  readonly kind: 'send';
  readonly id: number;
  readonly channel: string;
  readonly size: number;
  readonly count: number;
  sent: number;
  acked: number;
  done: boolean;
}

interface RecvBinding {
  readonly kind: 'recv';
  readonly id: number;
  readonly size: number;
  readonly count: number;
  received: number;
  ackWritten: number;
  done: boolean;
}

/** What we expect the exporter to say about an OPEN. */
interface OpenExpectation {
  readonly label: string;
  /** 'accept', a binding refusal with one of `codes`, or 'refuse' (binding or connection). */
  readonly expect: 'accept' | 'binding' | 'refuse' | 'either';
  readonly codes: readonly string[];
  refusedWith?: string;
}


/** Runs `plan` on a new connection to the exporter at `config.host:port`. */
/** Where the fake importer dials, and its {@link PeerConfig}. */
export interface ImporterPeerConfig extends PeerConfig {
  readonly host: string;
  readonly port: number;
}

export async function runImporterPlan(plan: ImporterPlan, config: ImporterPeerConfig): Promise<PeerOutcome> {
  const socket = connect({ host: config.host, port: config.port });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', () => resolve());
  });
  const run = new FakeImporter(new PeerSocket(socket), config);
  try {
    await run.play(plan);
  } finally {
    run.peer.destroy();
  }
  return run.outcome();
}

class FakeImporter extends FakePeer {
  protected readonly other = 'exporter';
  private readonly bindings = new Map<number, SendBinding | RecvBinding>();
  private readonly opens = new Map<number, OpenExpectation>();
  private highestId = 0;
  /** Bindings the exporter must refuse: if it does not, that is the finding, and their DATA is not judged. */
  private readonly acceptedAnyway = new Set<number>();

  constructor(peer: PeerSocket, config: PeerConfig) {
    super(peer, config);
    peer.onFrame = (f) => this.onFrame(f);
  }

  async play(plan: ImporterPlan): Promise<void> {
    if (this.peer.closed) return this.flag('no-answer', 'the exporter did not accept the connection');
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
    // Everything so far must have been accepted (or refused as expected) before the finale.
    if (!(await this.sync('before the finale'))) return;
    this.checkOpens();
    await this.finale(plan.finale);
  }

  // ---- HELLO ----

  private async hello(plan: ImporterPlan): Promise<boolean> {
    const h = plan.hello;
    const bytes = buildFrameRaw('HELLO', {}, { options: h.options.bytes }, { version: h.version });
    this.write(bytes, h.expect === 'accept' ? 'HELLO' : `${h.label}: ${hex(h.options.bytes)}`, h.expect !== 'accept' ? h.options : undefined);
    if (h.expect === 'accept') return true;
    const r = await this.barrier();
    if (r === 'closed') return this.refusal(REFUSAL_CODES, h.expect === 'refuse' || h.expect === 'either');
    if (r === 'timeout') return this.silent(`after ${h.label}`);
    if (h.expect === 'refuse') this.flag('accepted-invalid', `the exporter accepted ${h.label}`);
    return true;
  }

  // ---- ops ----

  private async op(op: ImporterOp): Promise<void> {
    switch (op.op) {
      case 'open':
        return this.open(op.channel, op.dir, op.size, op.count, op.skip);
      case 'data':
        return this.data(op.pick, op.n, op.value);
      case 'ack': {
        const b = this.pickRecv(op.pick) ?? (await this.openRecv());
        if (!b) return;
        const seq = op.how === 'all' ? b.received : op.how === 'half' ? b.ackWritten + Math.ceil((b.received - b.ackWritten) / 2) : Math.max(0, b.ackWritten - 1);
        this.write(buildFrame('ACK', { id: b.id, received: seq }), op.how === 'stale' ? `ACK ${b.id} ${seq} (stale)` : undefined);
        b.ackWritten = Math.max(b.ackWritten, seq);
        return;
      }
      case 'end': {
        const b = this.pickSend(op.pick);
        if (!b) return;
        this.write(buildFrame('END', { id: b.id, sent: b.sent }), `END ${b.id}`);
        b.done = true;
        return;
      }
      case 'cancel': {
        const b = this.pickRecv(op.pick);
        if (!b) return;
        this.write(buildFrame('CANCEL', { id: b.id, received: b.received }), `CANCEL ${b.id}`);
        b.done = true; // DATA already in flight may still come, within the window
        return;
      }
      case 'bindingError': {
        const b = this.pickSend(op.pick) ?? this.pickRecv(op.pick);
        if (!b) return;
        this.write(buildFrame('ERROR', { id: b.id, code: op.code, text: `${this.marker} binding error` }), `ERROR ${b.id} ${JSON.stringify(op.code)}`);
        b.done = true;
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

  private async open(channel: string, dir: unknown, size: unknown, count: unknown, skip: number): Promise<void> {
    // The dialer's ids are odd (docs/PROTOCOL.md, version 2): 1, 3, 5, …; `skip` leaves some out.
    const id = (this.highestId === 0 ? -1 : this.highestId) + 2 * (1 + skip);
    this.highestId = id;
    const label = `OPEN ${id} ${JSON.stringify(channel)} dir=${show(dir)} size=${show(size)} count=${show(count)}`;
    const sizeOk = inDomain(layout('OPEN').fields[3]!.domain!, size);
    const countOk = inDomain(layout('OPEN').fields[4]!.domain!, count);
    this.write(buildFrame('OPEN', { id }, { name: channel, dir, size, count }), sizeOk && countOk ? undefined : label);
    if (!sizeOk || !countOk) {
      // An out-of-range window or count: the exporter must refuse it, for the binding or the connection.
      this.opens.set(id, { label, expect: 'refuse', codes: REFUSAL_CODES });
      this.acceptedAnyway.add(id); // if it is not refused, what the exporter sends there is beside the point
      const r = await this.barrier();
      if (r === 'closed') {
        this.refusal(REFUSAL_CODES, true);
        return;
      }
      if (r === 'timeout') return void this.silent(`after ${label}`);
      const e = this.opens.get(id)!;
      if (e.refusedWith === undefined) this.flag('accepted-invalid', `the exporter accepted ${label}`);
      return;
    }
    const exported = TARGET_CHANNELS[channel as keyof typeof TARGET_CHANNELS]?.exported;
    const eff = Math.max(1, size as number);
    const n = count as number;
    // Every reason to refuse that applies (the spec does not order the checks).
    const reasons: string[] = [];
    if (exported === undefined) reasons.push('ENOCHAN');
    else if ((exported === 'send') !== (dir === 0)) reasons.push('EDIR');
    if (eff > TARGET_MAX_WINDOW) reasons.push('EPROTO');
    if (reasons.length > 0) return void this.opens.set(id, { label, expect: 'binding', codes: reasons });
    this.opens.set(id, { label, expect: 'accept', codes: [] });
    if (n === 0) return; // nothing to carry: complete at once
    const limit = n < 0 ? Infinity : n;
    this.bindings.set(
      id,
      dir === 0
        ? { kind: 'recv', id, size: eff, count: limit, received: 0, ackWritten: 0, done: false }
        : { kind: 'send', id, channel, size: eff, count: limit, sent: 0, acked: 0, done: false },
    );
  }

  /** Bindings to use when an op needs one and there is none yet. */
  private async openRecv(size = 64): Promise<RecvBinding | undefined> {
    await this.open('jobs', 0, size, -1, 0);
    const b = this.bindings.get(this.highestId);
    return b?.kind === 'recv' ? b : undefined;
  }

  private async openSend(channel = 'inbox', size = 64): Promise<SendBinding | undefined> {
    await this.open(channel, 1, size, -1, 0);
    const b = this.bindings.get(this.highestId);
    return b?.kind === 'send' ? b : undefined;
  }

  private async data(pick: number, n: number, value: HostileValue): Promise<void> {
    const b = this.pickSend(pick) ?? (await this.openSend());
    if (!b) return;
    const hostile = value.verdict !== 'valid';
    const bytes = dataFrame(b.id, value.bytes);
    const count = hostile ? 1 : n;
    for (let i = 0; i < count && !b.done && b.sent < b.count; i++) {
      if (b.sent - b.acked >= b.size) {
        // The window is full: wait for the exporter's ACKs ('inbox' acknowledges at once; 'sink' never).
        if (b.channel !== 'inbox') return;
        await this.peer.flush();
        const r = await this.peer.until(() => (b.sent - b.acked < b.size ? 'room' : this.peer.closed ? 'closed' : undefined), this.answerMs);
        if (r === 'timeout') return void this.silent(`no ACK on binding ${b.id} of "inbox" with ${b.sent - b.acked} unacknowledged`);
        if (r === 'closed') return;
      }
      this.write(bytes, hostile ? `DATA ${b.id} ${value.label}: ${hex(value.bytes)}` : undefined, hostile ? value : undefined);
      b.sent++;
    }
    if (!hostile) return;
    // A legal but costly value: accepted, or refused by a limit; either way the exporter answers.
    const r = await this.barrier();
    if (r === 'closed') this.refusal(REFUSAL_CODES, true);
    else if (r === 'timeout') this.silent(`after DATA ${value.label}`);
  }

  private pickSend(n: number): SendBinding | undefined {
    const live = [...this.bindings.values()].filter((b): b is SendBinding => b.kind === 'send' && !b.done && b.sent < b.count);
    return live.length === 0 ? undefined : live[n % live.length];
  }

  private pickRecv(n: number): RecvBinding | undefined {
    const live = [...this.bindings.values()].filter((b): b is RecvBinding => b.kind === 'recv' && !b.done);
    return live.length === 0 ? undefined : live[n % live.length];
  }

  // ---- finale ----

  protected async violation(bad: BadFrame): Promise<void> {
    this.ending = false;
    const codes = bad.bad === 'tooBig' ? ['ETOOBIG'] : ['EPROTO'];
    let label: string;
    switch (bad.bad) {
      case 'unknownType':
      case 'notArray':
      case 'empty':
      case 'tooBig':
        label = this.writeFramingViolation(bad);
        break;
      case 'dataUnopened': {
        const id = Math.min(2 ** 32 - 1, this.highestId + bad.ahead);
        label = `DATA for binding ${id}, never opened`;
        this.write(dataFrame(id, Uint8Array.from([0x01])), label);
        break;
      }
      case 'ackBeyond': {
        // Not on a count-limited binding that got its count: once acknowledged, the
        // exporter forgets it, and an ACK for it is a late frame (ignored).
        const b = [...this.bindings.values()].find((x): x is RecvBinding => x.kind === 'recv' && !x.done && x.count === Infinity) ?? (await this.openRecv(4));
        if (!b || !(await this.sync('before ACK beyond'))) return;
        const seq = b.received + b.size + 1; // more than the exporter can have sent
        label = `ACK ${b.id} ${seq}, beyond what was sent`;
        this.write(buildFrame('ACK', { id: b.id, received: seq }), label);
        break;
      }
      case 'pastWindow': {
        await this.open('sink', 1, bad.size, -1, 0);
        if (!(await this.sync('before sending past the window'))) return;
        const id = this.highestId;
        label = `${bad.size + 1} DATA on "sink" (never acknowledged) with window ${bad.size}`;
        for (let i = 0; i <= bad.size; i++) this.write(dataFrame(id, Uint8Array.from([i & 0x7f])), i === bad.size ? label : undefined);
        break;
      }
      case 'reuseId': {
        if (this.highestId === 0) await this.open('jobs', 0, 4, -1, 0);
        label = `OPEN reusing id ${this.highestId}`;
        this.write(buildFrame('OPEN', { id: this.highestId, channel: 'jobs', dir: 0, window: 4 }), label);
        break;
      }
      case 'helloTwice':
        label = 'HELLO twice';
        this.write(buildFrame('HELLO'), label);
        break;
      case 'badValue': {
        // On a binding with room, so that the value itself is the only thing wrong.
        const b = [...this.bindings.values()].find((x): x is SendBinding => x.kind === 'send' && !x.done && x.sent < x.count && x.sent - x.acked < x.size) ?? (await this.openSend());
        if (!b) return;
        label = `DATA ${b.id} ${bad.value.label}: ${hex(bad.value.bytes)}`;
        this.write(dataFrame(b.id, bad.value.bytes), label, bad.value);
        break;
      }
      case 'field': {
        label = `${bad.frame} with ${bad.field}=${show(bad.value)}`;
        let recv = this.pickRecv(0);
        if (bad.frame === 'ACK' && !recv) recv = await this.openRecv();
        const ctx = bad.frame === 'OPEN' ? { id: (this.highestId === 0 ? -1 : this.highestId) + 2, channel: 'jobs', dir: 0, window: 4 } : { id: recv?.id ?? 1, text: this.marker };
        this.write(buildFrame(bad.frame, ctx, { [bad.field]: bad.value }), label);
        break;
      }
    }
    await this.judgeViolation(codes, label);
  }

  // ---- answers ----

  private onFrame(f: Incoming): void {
    switch (f.type) {
      case T.Data: {
        const b = this.bindings.get(f.id);
        if (b?.kind !== 'recv') {
          if (!this.acceptedAnyway.has(f.id)) this.flag('window', `DATA for binding ${f.id}, which we did not open for receiving`);
          return;
        }
        b.received++;
        if (b.received - b.ackWritten > b.size) this.flag('window', `binding ${b.id}: ${b.received - b.ackWritten} values unacknowledged, window ${b.size}`);
        if (b.received > b.count) this.flag('window', `binding ${b.id}: ${b.received} values, count ${b.count}`);
        return;
      }
      case T.Ack: {
        const b = this.bindings.get(f.id);
        if (b?.kind !== 'send') return this.flag('garbled', `ACK for binding ${f.id}, which is not ours to send on`);
        if (f.seq > b.sent) return this.flag('garbled', `ACK ${f.seq} for binding ${b.id}, which sent only ${b.sent}`);
        b.acked = Math.max(b.acked, f.seq);
        return;
      }
      case T.Error: {
        if (f.id === 0) return; // the connection's; judged where it is expected
        const e = this.opens.get(f.id);
        if (!OUR_CODES.has(f.code)) this.flag('foreign-error', `ERROR for binding ${f.id} with code ${JSON.stringify(f.code)}`);
        if (e) e.refusedWith = f.code;
        const b = this.bindings.get(f.id);
        if (b) b.done = true;
        return;
      }
      case T.End: {
        const b = this.bindings.get(f.id);
        if (b) b.done = true;
        return;
      }
      case T.Hello:
        if (f.fields[1] !== PROTOCOL_VERSION) this.flag('garbled', `the exporter's HELLO has version ${show(f.fields[1])}`);
        return;
      default:
        return;
    }
  }

  /** Every OPEN got the answer it should have (call after a barrier). */
  private checkOpens(): void {
    for (const [id, e] of this.opens) {
      if (e.expect === 'binding' && e.refusedWith === undefined) this.flag('accepted-invalid', `no refusal (${e.codes.join('/')}) for ${e.label}`);
      if (e.expect === 'binding' && e.refusedWith !== undefined && !e.codes.includes(e.refusedWith))
        this.flag('wrong-code', `${e.label} refused with ${e.refusedWith}, expected ${e.codes.join('/')}`);
      if (e.expect === 'accept' && e.refusedWith !== undefined) this.flag('refused-valid', `binding ${id} refused with ${e.refusedWith}: ${e.label}`);
    }
  }

}
