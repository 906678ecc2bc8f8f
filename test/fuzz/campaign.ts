// A fuzz campaign: many fake peers, each on a fresh connection with its own
// plan, against a target process, until a number of frames or a deadline. It
// watches the target (memory, event-loop delay, errors, the steady
// connection), restarts it when it crashes, and blames the hostile inputs sent
// just before a crash or a stall.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import fc from 'fast-check';
import { runExporterPlan } from './fakeExporter.js';
import { runImporterPlan, type PeerOutcome } from './fakeImporter.js';
import { exporterPlan, type ExporterPlanConfig } from './exporterPlan.js';
import { importerPlan, type ImporterPlanConfig } from './importerPlan.js';
import { PeerSocket } from './peerSocket.js';
import { TargetProcess } from './targetProcess.js';
import type { TargetStats } from './target/protocol.js';
import { Findings, type Violation } from './violations.js';

/** Bounds the properties hold the target to. */
export interface Bounds {
  /** Longest event-loop delay allowed, ms. */
  readonly loopMs: number;
  /** Largest resident memory allowed, MiB. */
  readonly rssMB: number;
  /** Lowest share of its baseline throughput the steady connection may fall to, per second of the run. */
  readonly steadyFraction: number;
}

export interface CampaignConfig {
  /** Attack an exporter (with fake importers) or importers (with a fake exporter). */
  readonly direction: 'exporter' | 'importer';
  /** Stop after sending this many frames... */
  readonly frames: number;
  /** ...or after this long, whichever comes first. */
  readonly durationMs: number;
  /**
   * Keep going past `durationMs` until this many connections have run (at most
   * 4 × `durationMs`): on a loaded machine a short run would otherwise test too little. Defaults to 0.
   */
  readonly minConnections?: number;
  /** Connections at once. */
  readonly concurrency: number;
  readonly seed: number;
  readonly plan: ImporterPlanConfig & ExporterPlanConfig;
  readonly bounds: Bounds;
  /** The target's heap cap (MiB). Defaults to 512. */
  readonly heapMB?: number;
  /** How long the target measures the steady connection before the attack. Defaults to 500 ms. */
  readonly baselineMs?: number;
  /** Called about once a second. */
  readonly onProgress?: (r: CampaignReport) => void;
}

export interface CampaignReport {
  readonly direction: 'exporter' | 'importer';
  readonly framesSent: number;
  /** Frames the target's sessions decoded and accepted. */
  readonly framesDecoded: number;
  readonly connections: number;
  /** Connections the target closed because of a frame the spec refuses (as expected). */
  readonly refusals: number;
  readonly elapsedMs: number;
  readonly maxLoopMs: number;
  readonly peakRssMB: number;
  /** RSS at the last probe. */
  readonly rssMB: number;
  /** Steady connection: baseline values/s, and the lowest share of it seen in a one-second window. */
  readonly steadyBaseline: number;
  readonly steadyMinFraction: number;
  readonly restarts: number;
  readonly findings: Findings;
}

/** Runs one campaign; never throws for what the target does (that is a finding). */
export async function runCampaign(config: CampaignConfig): Promise<CampaignReport> {
  const c = new Campaign(config);
  return c.run();
}

class Campaign {
  private readonly findings = new Findings();
  private target!: TargetProcess;
  private generation = 0;
  private framesSent = 0;
  /** Frames decoded by targets that have since died (their last report). */
  private decodedBefore = 0;
  private lastStats: TargetStats | null = null;
  private connections = 0;
  private refusals = 0;
  private restarts = 0;
  private maxLoop = 0;
  private peakRss = 0;
  private steadyMin = Infinity;
  /** When the attack began (after the target was up). */
  private started = Date.now();
  private stopping = false;
  /** Hostile inputs recently sent: what a crash or a stall gets blamed on. */
  private recent: Array<{ at: number; input: string }> = [];
  private plans: Array<unknown> = [];
  private batch = 0;
  private steadyWindow: { at: number; received: number } | null = null;
  private server: ReturnType<typeof createServer> | null = null;
  private fakeUrl = '';

  constructor(private readonly config: CampaignConfig) {}

  async run(): Promise<CampaignReport> {
    await this.startTarget();
    this.started = Date.now();
    const monitor = this.monitor();
    if (this.config.direction === 'exporter') {
      await Promise.all(Array.from({ length: this.config.concurrency }, () => this.importerWorker()));
    } else {
      await this.serveFakeExporter();
    }
    this.stopping = true;
    await monitor;
    const last = this.target.alive ? await this.target.stop() : null;
    if (last) this.absorb(last);
    this.server?.close();
    return this.report();
  }

  private done(): boolean {
    const elapsed = Date.now() - this.started;
    const enough = this.connections >= (this.config.minConnections ?? 0) || elapsed >= 4 * this.config.durationMs;
    return this.stopping || this.framesSent >= this.config.frames || (elapsed >= this.config.durationMs && enough);
  }

  private report(): CampaignReport {
    return {
      direction: this.config.direction,
      framesSent: this.framesSent,
      framesDecoded: this.decodedBefore + (this.lastStats?.framesDecoded ?? 0),
      connections: this.connections,
      refusals: this.refusals,
      elapsedMs: Date.now() - this.started,
      maxLoopMs: this.maxLoop,
      peakRssMB: this.peakRss,
      rssMB: this.lastStats?.rssMB ?? 0,
      steadyBaseline: this.target?.baseline ?? 0,
      steadyMinFraction: Number.isFinite(this.steadyMin) ? this.steadyMin : 1,
      restarts: this.restarts,
      findings: this.findings,
    };
  }

  // ---- the target ----

  private async startTarget(): Promise<void> {
    this.target = await TargetProcess.start({ mode: this.config.direction, heapMB: this.config.heapMB ?? 512, baselineMs: this.config.baselineMs ?? 500 });
    this.generation++;
    this.lastStats = null;
    this.steadyWindow = null;
    if (this.config.direction === 'importer' && this.fakeUrl) this.target.dial(this.fakeUrl, this.config.concurrency);
    const gen = this.generation;
    void this.target.whenExited().then((exit) => {
      if (this.stopping || gen !== this.generation) return;
      this.findings.add({
        kind: 'crash',
        detail: `target died (${exit.signal ?? `exit ${exit.code}`}): ${exit.fatal ?? lastLines(exit.stderr)}`,
        input: this.blame(3_000),
      });
    });
  }

  private restarting: Promise<void> | null = null;

  /** Starts a new target if the current one died (once, however many workers ask). */
  private async restartIfDead(): Promise<void> {
    if (this.restarting) return this.restarting;
    if (this.target.alive || this.stopping) return;
    this.restarting = (async () => {
      this.decodedBefore += this.lastStats?.framesDecoded ?? 0;
      this.restarts++;
      await this.startTarget();
    })().finally(() => (this.restarting = null));
    return this.restarting;
  }

  /** Probes the target every 250 ms and checks the bounds. */
  private async monitor(): Promise<void> {
    let lastProgress = Date.now();
    while (!this.stopping) {
      await sleep(250);
      if (!this.target.alive) {
        await this.restartIfDead();
        continue;
      }
      const s = await this.target.probe(Math.max(10_000, this.config.bounds.loopMs * 4));
      if (s === null) {
        if (this.target.alive) this.findings.add({ kind: 'no-answer', detail: 'the target did not answer a probe for 10 s', input: this.blame(10_000) });
        continue;
      }
      this.absorb(s);
      if (Date.now() - lastProgress >= 1000) {
        lastProgress = Date.now();
        this.config.onProgress?.(this.report());
      }
    }
  }

  private absorb(s: TargetStats): void {
    this.lastStats = s;
    this.peakRss = Math.max(this.peakRss, s.peakRssMB);
    const b = this.config.bounds;
    if (s.loopMaxMs > this.maxLoop) this.maxLoop = s.loopMaxMs;
    if (s.loopMaxMs > b.loopMs) this.findings.add({ kind: 'loop', detail: `event loop held for ${s.loopMaxMs.toFixed(0)} ms (bound ${b.loopMs})`, input: this.blame(s.loopMaxMs + 1_000) });
    if (s.rssMB > b.rssMB) this.findings.add({ kind: 'memory', detail: `RSS ${s.rssMB.toFixed(0)} MiB (bound ${b.rssMB})`, input: this.blame(3_000) });
    for (const f of s.foreign) this.findings.add({ kind: 'foreign-error', detail: f });
    if (s.steadyGaps > 0) this.findings.add({ kind: 'steady', detail: `the steady connection's values arrived out of order or with gaps (${s.steadyGaps})` });
    // Throughput of the steady connection, per window of at least a second.
    const w = this.steadyWindow;
    if (w === null) this.steadyWindow = { at: s.at, received: s.steadyReceived };
    else if (s.at - w.at >= 1000) {
      const rate = ((s.steadyReceived - w.received) * 1000) / (s.at - w.at);
      const share = this.target.baseline > 0 ? rate / this.target.baseline : 1;
      this.steadyMin = Math.min(this.steadyMin, share);
      if (share < b.steadyFraction && !this.done())
        this.findings.add({ kind: 'steady', detail: `steady throughput ${rate.toFixed(0)}/s = ${(share * 100).toFixed(1)} % of baseline (bound ${b.steadyFraction * 100} %)`, input: this.blame(2_000) });
      this.steadyWindow = { at: s.at, received: s.steadyReceived };
    }
  }

  private noteHostile = (input: string): void => {
    const now = Date.now();
    this.recent.push({ at: now, input });
    if (this.recent.length > 400) this.recent = this.recent.filter((r) => now - r.at < 15_000).slice(-200);
  };

  /** Hostile inputs sent within the last `ms`, newest first, at most 6. */
  private blame(ms: number): string[] {
    const since = Date.now() - ms;
    return this.recent
      .filter((r) => r.at >= since)
      .reverse()
      .slice(0, 6)
      .map((r) => r.input);
  }

  // ---- plans ----

  private nextPlan<P>(arb: fc.Arbitrary<P>): P {
    if (this.plans.length === 0) this.plans = fc.sample(arb, { seed: this.config.seed + this.batch++, numRuns: 64 }) as unknown[];
    return this.plans.pop() as P;
  }

  private async record(out: PeerOutcome, gen: number): Promise<void> {
    this.framesSent += out.framesSent;
    this.connections++;
    if (out.refused) this.refusals++;
    if (out.violations.length === 0) return;
    // A peer cut short by a crash of the target reports nonsense: the crash is the
    // finding. The socket may close before the exit is known: look again a moment later.
    await sleep(300);
    if (gen !== this.generation || !this.target.alive) return;
    for (const v of out.violations) this.findings.add(v as Violation);
  }

  // ---- direction 'exporter': fake importers dial the target ----

  private async importerWorker(): Promise<void> {
    const arb = importerPlan(this.config.plan);
    while (!this.done()) {
      await this.restartIfDead();
      const gen = this.generation;
      const plan = this.nextPlan(arb);
      const out = await runImporterPlan(plan, {
        host: '127.0.0.1',
        port: this.target.port,
        connection: this.connections + 1,
        answerMs: Math.max(5_000, this.config.bounds.loopMs * 4),
        onHostile: this.noteHostile,
      });
      await this.record(out, gen);
    }
  }

  // ---- direction 'importer': the target's importers dial our fake exporter ----

  private async serveFakeExporter(): Promise<void> {
    const arb = exporterPlan(this.config.plan);
    let active = 0;
    let finished: () => void = () => {};
    const allDone = new Promise<void>((r) => (finished = r));
    const server = createServer((socket: Socket) => {
      if (this.done()) {
        socket.destroy();
        return;
      }
      active++;
      const gen = this.generation;
      const plan = this.nextPlan(arb);
      void runExporterPlan(plan, new PeerSocket(socket), {
        connection: this.connections + 1,
        answerMs: Math.max(5_000, this.config.bounds.loopMs * 4),
        onHostile: this.noteHostile,
      }).then(async (out) => {
        await this.record(out, gen);
        active--;
        if (this.done() && active === 0) finished();
      });
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.fakeUrl = `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.target.dial(this.fakeUrl, this.config.concurrency);
    // Stop when the budget is spent and the last connections have finished.
    while (!this.done()) await sleep(50);
    server.close();
    if (active > 0) await Promise.race([allDone, sleep(15_000)]);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function lastLines(s: string): string {
  const lines = s.trim().split('\n').filter((l) => l.trim() !== '');
  const fatal = lines.find((l) => /FATAL|out of memory|heap/i.test(l));
  return fatal ?? lines.slice(-3).join(' | ');
}
