// What both fake peers share: writing frames (split on request), a log of the
// input for counterexamples, the PING barrier, and the verdicts on how the
// endpoint under test ended a connection.
import { buildFrame } from './frameBuilder.js';
import type { HostileValue } from './msgpackHostile.js';
import { hex } from './msgpackBytes.js';
import type { FramingBadFrame, PeerFinale } from './planParts.js';
import { frame, framed } from './wire.js';
import type { BarrierResult, PeerSocket } from './peerSocket.js';
import type { Violation } from './violations.js';

/** What happened on one connection. */
export interface PeerOutcome {
  readonly framesSent: number;
  readonly bytesSent: number;
  readonly violations: Violation[];
  /** The endpoint closed the connection because of a frame that the spec refuses (expected). */
  readonly refused: boolean;
  /** Tag put in every message we send, to tie the target's reports to this connection. */
  readonly marker: string;
  /** Hostile inputs sent, with when (Date.now()), to blame for a stall or a crash. */
  readonly hostile: ReadonlyArray<{ at: number; input: string }>;
}

export interface PeerConfig {
  /** Number of this connection (for the marker). */
  readonly connection: number;
  /** How long to wait for a PONG or a close before calling the endpoint silent. Defaults to 5,000 ms. */
  readonly answerMs?: number;
  /** Called with each hostile input as it is written (a campaign blames them for stalls and crashes). */
  readonly onHostile?: (input: string) => void;
}

/** Codes a refused frame may carry. */
export const REFUSAL_CODES: readonly string[] = ['EPROTO', 'ETOOBIG'];

export abstract class FakePeer {
  protected readonly violations: Violation[] = [];
  protected readonly input: string[] = [];
  protected readonly hostile: Array<{ at: number; input: string }> = [];
  /** The endpoint closed the connection because of a frame the spec refuses. */
  protected refused = false;
  /** The endpoint is expected to end the connection (after our finale). */
  protected ending = false;
  protected splitNext = -1;
  /** The endpoint went silent once: the rest of the plan is skipped (each step would wait again). */
  protected gaveUp = false;
  /** An invalid frame was accepted: what follows is not judged. */
  protected tainted = false;
  protected readonly marker: string;
  protected readonly answerMs: number;

  constructor(
    readonly peer: PeerSocket,
    protected readonly config: PeerConfig,
  ) {
    this.marker = `fuzz#${config.connection}`;
    this.answerMs = config.answerMs ?? 5_000;
    peer.drainMs = this.answerMs * 2;
  }

  outcome(): PeerOutcome {
    if (this.peer.stalled && !this.gaveUp) this.silent(`the endpoint read nothing of ours for ${this.peer.drainMs} ms`);
    return {
      framesSent: this.peer.framesSent,
      bytesSent: this.peer.bytesSent,
      violations: this.violations,
      refused: this.refused,
      marker: this.marker,
      hostile: this.hostile,
    };
  }

  protected async barrier(): Promise<BarrierResult> {
    return this.peer.barrier(this.answerMs);
  }

  /** A barrier in the middle of a valid sequence: the connection must still be up. */
  protected async sync(where: string): Promise<boolean> {
    const r = await this.barrier();
    if (r === 'pong') return true;
    if (r === 'timeout') this.silent(where);
    else this.unexpectedClose();
    return false;
  }

  /** The endpoint closed the connection: fine if `expected`, with one of `codes` in its ERROR frame. */
  protected refusal(codes: readonly string[], expected: boolean): false {
    this.refused = true;
    const err = this.peer.connectionError;
    if (!expected) this.unexpectedClose();
    else if (err === null) this.flag('wrong-code', `closed without an ERROR frame (expected ${codes.join('/')})`);
    else if (!codes.includes(err.code)) this.flag('wrong-code', `refused with ${err.code} (${err.message}), expected ${codes.join('/')}`);
    return false;
  }

  protected unexpectedClose(): void {
    if (this.ending || this.refused) return;
    const err = this.peer.connectionError;
    this.flag('refused-valid', err ? `the endpoint closed a valid sequence: ${err.code} ${err.message}` : 'the endpoint dropped a valid sequence');
  }

  /** The endpoint under test, as findings name it. */
  protected abstract readonly other: 'exporter' | 'importer';

  /** Ends the connection as the plan says. */
  protected async finale<Bad>(f: PeerFinale<Bad>): Promise<void> {
    const other = this.other;
    this.ending = true;
    switch (f.kind) {
      case 'bye':
        this.write(buildFrame('BYE'));
        await this.peer.flush();
        if (!(await this.peer.whenClosed(this.answerMs))) this.silent(`the ${other} did not close after BYE`);
        return;
      case 'end':
        await this.peer.flush();
        this.peer.socket.end();
        if (!(await this.peer.whenClosed(this.answerMs))) this.silent(`the ${other} did not close after our FIN`);
        return;
      case 'reset':
        await this.peer.flush();
        this.peer.socket.resetAndDestroy();
        return;
      case 'connectionError':
        this.write(buildFrame('ERROR', { id: 0, code: f.code, text: `${this.marker} ${f.message}` }), `ERROR 0 ${JSON.stringify(f.code)}`);
        await this.peer.flush();
        if (!(await this.peer.whenClosed(this.answerMs))) this.silent(`the ${other} did not close after a connection ERROR`);
        return;
      case 'violation':
        return this.violation(f.frame);
    }
  }

  /** Sends one invalid frame and checks the endpoint refuses it. */
  protected abstract violation(bad: unknown): Promise<void>;

  /** Writes a frame broken as a frame (the same from either side); returns its label. */
  protected writeFramingViolation(bad: FramingBadFrame): string {
    switch (bad.bad) {
      case 'unknownType':
        return this.labelled(`frame type ${bad.type}`, frame([bad.type, 1]));
      case 'notArray':
        return this.labelled(`a body that is not an array: ${hex(Uint8Array.from(bad.body))}`, framed(Uint8Array.from(bad.body)));
      case 'empty':
        return this.labelled('an empty frame', framed(new Uint8Array(0)));
      case 'tooBig': {
        const n = bad.declared;
        return this.labelled(`a length prefix of ${n}`, Uint8Array.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]));
      }
    }
  }

  /** The verdict on the invalid frame `label` just written: the endpoint must close with one of `codes`. */
  protected async judgeViolation(codes: readonly string[], label: string): Promise<void> {
    const r = await this.barrier();
    if (r === 'closed') this.refusal(codes, true);
    else if (r === 'timeout') this.silent(`after ${label}`);
    else this.flag('accepted-invalid', `the ${this.other} accepted ${label}`);
  }

  private labelled(label: string, bytes: Uint8Array): string {
    this.write(bytes, label);
    return label;
  }

  protected silent(where: string): false {
    this.gaveUp = true;
    this.flag('no-answer', `no PONG and no close for ${this.answerMs} ms ${where}`);
    return false;
  }

  protected flag(kind: Violation['kind'], detail: string): void {
    // Past an accepted invalid frame the model no longer holds (a window of NaN,
    // a frame limit of 0.5, an id past 2^53): stop here, that frame is the finding.
    if (this.tainted) return;
    if (kind === 'accepted-invalid') this.tainted = this.gaveUp = true;
    this.violations.push({ kind, detail, input: this.input.slice(-12) });
  }

  /** Writes one frame (in pieces after a 'split' op); `label` marks it as worth reporting. */
  protected write(bytes: Uint8Array, label?: string, hostile?: HostileValue): void {
    if (label !== undefined) {
      this.input.push(label);
      if (this.input.length > 200) this.input.splice(0, 100);
    }
    if (hostile !== undefined && hostile.verdict !== 'valid') {
      const entry = { at: Date.now(), input: label ?? hostile.label };
      this.hostile.push(entry);
      this.config.onHostile?.(entry.input);
    }
    if (this.splitNext >= 0 && bytes.length > 1) {
      const at = 1 + (this.splitNext % (bytes.length - 1));
      this.splitNext = -1;
      this.peer.write(bytes.subarray(0, at));
      void this.peer.flush();
      this.peer.write(bytes.subarray(at));
      this.peer.framesSent--; // one frame, two writes
      return;
    }
    this.peer.write(bytes);
  }
}
