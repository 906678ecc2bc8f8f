// Starts target/fuzzTarget.ts in a child process (bundled with esbuild, so it
// runs the TypeScript sources under plain node) with a capped heap, and talks
// to it: probes, dial orders, stop. A crash (V8 out of memory, an uncaught
// exception) is an event, not the end of the fuzz run.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TargetMessage, TargetStats } from './target/protocol.js';

/** The repository root: the first directory up from here that holds the target's source (this file may run bundled). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'test/fuzz/target/fuzzTarget.ts'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('fuzz: cannot find test/fuzz/target/fuzzTarget.ts above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}
let bundled: Promise<string> | null = null;

/** Bundles the target once per process (into node_modules/.cache, so its dependencies resolve). */
function bundle(): Promise<string> {
  bundled ??= (async () => {
    const esbuild = await import('esbuild');
    const root = repoRoot();
    const dir = join(root, 'node_modules/.cache/rx-netchan-fuzz');
    mkdirSync(dir, { recursive: true });
    const outfile = `${dir}/fuzzTarget-${process.pid}.mjs`;
    await esbuild.build({
      entryPoints: [join(root, 'test/fuzz/target/fuzzTarget.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile,
      logLevel: 'warning',
    });
    return outfile;
  })();
  return bundled;
}

export interface TargetOptions {
  readonly mode: 'exporter' | 'importer';
  /** V8 old-space cap in MiB: a runaway allocation crashes the target early. Defaults to 512. */
  readonly heapMB?: number;
  /** How long the target measures its steady connection before it is ready. Defaults to 500 ms. */
  readonly baselineMs?: number;
}

/** How the target process ended. */
export interface TargetExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The end of its stderr (V8's "FATAL ERROR: … out of memory", a stack). */
  readonly stderr: string;
  readonly fatal: string | null;
}

export class TargetProcess {
  exit: TargetExit | null = null;
  private stderr = '';
  private fatal: string | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, (s: TargetStats | null) => void>();
  private readonly exited: Promise<TargetExit>;

  private constructor(
    private readonly child: ChildProcess,
    /** Exporter mode: the exporter's port. Importer mode: the steady exporter's. */
    readonly port: number,
    /** Values per second of the steady connection before the attack. */
    readonly baseline: number,
  ) {
    child.on('message', (m: TargetMessage) => {
      if (m.type === 'stats') {
        this.pending.get(m.id)?.(m.stats);
        this.pending.delete(m.id);
      } else if (m.type === 'fatal') this.fatal = m.message;
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal, stderr: this.stderr.slice(-4000), fatal: this.fatal };
        for (const r of this.pending.values()) r(null);
        this.pending.clear();
        resolve(this.exit);
      });
    });
  }

  static async start(options: TargetOptions): Promise<TargetProcess> {
    const file = await bundle();
    const child = spawn(process.execPath, [`--max-old-space-size=${options.heapMB ?? 512}`, file], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, FUZZ_TARGET_MODE: options.mode, FUZZ_BASELINE_MS: String(options.baselineMs ?? 500) },
    });
    let stderr = '';
    const onErr = (c: Buffer) => (stderr = (stderr + c.toString()).slice(-8000));
    child.stderr!.on('data', onErr);
    const ready = await new Promise<Extract<TargetMessage, { type: 'ready' }>>((resolve, reject) => {
      child.on('message', function onMsg(m: TargetMessage) {
        if (m.type !== 'ready') return;
        child.off('message', onMsg);
        resolve(m);
      });
      child.once('exit', (code, signal) => reject(new Error(`fuzz target exited before it was ready (${code ?? signal}): ${stderr}`)));
    });
    const t = new TargetProcess(child, ready.port, ready.baseline);
    child.stderr!.off('data', onErr);
    t.stderr = stderr;
    child.stderr!.on('data', (c: Buffer) => (t.stderr = (t.stderr + c.toString()).slice(-8000)));
    return t;
  }

  get alive(): boolean {
    return this.exit === null;
  }

  /** Current figures (null if the target died, or did not answer within `ms`: its loop is held). */
  probe(ms = 10_000): Promise<TargetStats | null> {
    if (!this.alive) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve(null);
      }, ms);
      this.pending.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      this.child.send({ type: 'probe', id } satisfies TargetMessage);
    });
  }

  /** Importer mode: keep `pool` importers connected to `url`. */
  dial(url: string, pool: number): void {
    if (this.alive) this.child.send({ type: 'dial', url, pool } satisfies TargetMessage);
  }

  /** Resolves when the target process has exited. */
  whenExited(): Promise<TargetExit> {
    return this.exited;
  }

  /** Closes the endpoint and ends the process; resolves with its last figures (null if it had died). */
  async stop(ms = 10_000): Promise<TargetStats | null> {
    if (!this.alive) return null;
    const id = this.nextId++;
    const last = new Promise<TargetStats | null>((resolve) => this.pending.set(id, resolve));
    this.child.send({ type: 'stop', id } satisfies TargetMessage);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    const stats = await last;
    await this.exited;
    clearTimeout(timer);
    return stats;
  }

  /** Ends the process at once. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }
}
