// One plan, one connection, one verdict: for fast-check properties (which
// shrink a failing plan to a minimal one). Keeps one target process across
// runs and starts a new one after a crash.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { runExporterPlan } from './fakeExporter.js';
import { runImporterPlan } from './fakeImporter.js';
import type { ExporterPlan } from './exporterPlan.js';
import type { ImporterPlan } from './importerPlan.js';
import { PeerSocket } from './peerSocket.js';
import { TargetProcess, type TargetOptions } from './targetProcess.js';
import type { Violation } from './violations.js';

export interface AttackBounds {
  /** Longest event-loop delay allowed while the plan runs, ms. */
  readonly loopMs: number;
  /** Largest RSS allowed after it, MiB. */
  readonly rssMB: number;
}

/** A target process and what is needed to attack it one connection at a time. */
export class Attack {
  private target!: TargetProcess;
  private server: Server | null = null;
  private url = '';
  private sockets: Socket[] = [];
  private waiting: Array<(s: Socket) => void> = [];
  private n = 0;

  private constructor(
    private readonly options: TargetOptions,
    private readonly bounds: AttackBounds,
  ) {}

  static async start(options: TargetOptions, bounds: AttackBounds): Promise<Attack> {
    const a = new Attack(options, bounds);
    await a.ensure();
    return a;
  }

  /** Runs `plan` as a fake importer against the exporter target. */
  async asImporter(plan: ImporterPlan): Promise<Violation[]> {
    return this.judge(() => runImporterPlan(plan, { host: '127.0.0.1', port: this.target.port, connection: ++this.n, answerMs: 10_000 }));
  }

  /** Serves `plan` as a fake exporter to the next importer of the importer target. */
  async asExporter(plan: ExporterPlan): Promise<Violation[]> {
    return this.judge(async () => {
      const socket = await this.nextSocket();
      return runExporterPlan(plan, new PeerSocket(socket), { connection: ++this.n, answerMs: 10_000 });
    });
  }

  async close(): Promise<void> {
    if (this.target.alive) this.target.dial(this.url, 0);
    await this.target.kill();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async judge(run: () => Promise<{ violations: Violation[] }>): Promise<Violation[]> {
    await this.ensure();
    await this.target.probe(); // resets the loop-delay maximum
    const out = await run();
    const violations = [...out.violations];
    await new Promise((r) => setTimeout(r, 50)); // a crash may take a moment to show
    const s = await this.target.probe(Math.max(10_000, this.bounds.loopMs * 4));
    if (!this.target.alive) {
      const exit = this.target.exit!;
      violations.unshift({ kind: 'crash', detail: `target died (${exit.signal ?? exit.code}): ${exit.fatal ?? oom(exit.stderr)}` });
    } else if (s === null) {
      violations.push({ kind: 'no-answer', detail: 'the target did not answer a probe' });
    } else {
      if (s.loopMaxMs > this.bounds.loopMs) violations.push({ kind: 'loop', detail: `event loop held for ${s.loopMaxMs.toFixed(0)} ms (bound ${this.bounds.loopMs})` });
      if (s.rssMB > this.bounds.rssMB) violations.push({ kind: 'memory', detail: `RSS ${s.rssMB.toFixed(0)} MiB (bound ${this.bounds.rssMB})` });
      for (const f of s.foreign) violations.push({ kind: 'foreign-error', detail: f });
    }
    return violations;
  }

  /** A live target (a new one after a crash), and in importer mode, a fake exporter it dials. */
  private async ensure(): Promise<void> {
    if (this.target?.alive) return;
    this.target = await TargetProcess.start(this.options);
    if (this.options.mode !== 'importer') return;
    if (!this.server) {
      this.server = createServer((s) => {
        s.on('error', () => {});
        this.sockets.push(s);
        const w = this.waiting.shift();
        if (w) w(s);
      });
      await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
      this.url = `tcp://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    }
    this.target.dial(this.url, 1);
  }

  /** The next importer connection (the target redials as soon as one closes). */
  private nextSocket(): Promise<Socket> {
    const queued = this.sockets.find((s) => !s.destroyed && !claimed.has(s));
    if (queued) {
      claimed.add(queued);
      return Promise.resolve(queued);
    }
    return new Promise((resolve) =>
      this.waiting.push((s) => {
        claimed.add(s);
        resolve(s);
      }),
    );
  }
}

const claimed = new WeakSet<Socket>();

function oom(stderr: string): string {
  return stderr.split('\n').find((l) => /FATAL|out of memory/i.test(l)) ?? stderr.trim().split('\n').slice(-2).join(' | ');
}
