import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Exporter and importer processes for the NATS process tests. The worker
 * (test/nats/procs/worker.ts, with the library's src/) is bundled once per
 * run with esbuild into node_modules/.cache (its packages stay external and
 * resolve from the repository). Every child runs under `setpriv --pdeathsig
 * KILL` (it dies with the test process), stops itself at its own deadline,
 * and is killed by `stopAllProcs()`: none outlives its test.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT_DIR = `${ROOT}node_modules/.cache/rx-netchan-nats-procs`;
let built: Promise<string> | null = null;

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

/** The bundled worker (built on first use). */
export function workerScript(): Promise<string> {
  built ??= (async () => {
    mkdirSync(OUT_DIR, { recursive: true });
    const outfile = `${OUT_DIR}/worker-${process.pid}.mjs`;
    await build({
      entryPoints: [`${ROOT}test/nats/procs/worker.ts`],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile,
      // package.json's sideEffects names dist/ files only: src/nats.ts (it registers nats://) must stay.
      ignoreAnnotations: true,
      logLevel: 'silent',
    });
    return outfile;
  })();
  return built;
}

/** A message from a worker. */
export interface ProcMessage {
  type: string;
  [k: string]: unknown;
}

const live = new Set<Proc>();

/** One worker process; its messages are queued until taken with `next()`. */
export class Proc {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private readonly inbox: ProcMessage[] = [];
  private waiters: Array<() => void> = [];
  readonly logs: string[] = [];
  private done = false;

  private constructor(script: string, args: object, readonly label: string) {
    const argv = [process.execPath, script, JSON.stringify(args)];
    const [cmd, ...rest] = SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv] : argv;
    this.child = spawn(cmd!, rest, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    live.add(this);
    this.child.on('message', (m: ProcMessage) => {
      if (m.type === 'log') this.logs.push(String(m['message']));
      else this.inbox.push(m);
      this.poke();
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.done = true;
        live.delete(this);
        this.poke();
        resolve(code);
      });
    });
  }

  static async start(args: object, label: string): Promise<Proc> {
    return new Proc(await workerScript(), args, label);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.done;
  }

  /** The next message of `type` (a 'failed' one rejects), within `ms`. */
  next(type: string, ms = 15_000): Promise<ProcMessage> {
    const deadline = Date.now() + ms;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(check, ms);
      const self = this;
      function check(): void {
        const failed = self.inbox.find((m) => m.type === 'failed');
        const i = self.inbox.findIndex((m) => m.type === type);
        let outcome: (() => void) | null = null;
        if (failed) outcome = () => reject(new Error(`${self.label} failed: ${String(failed['error'])}\n${self.logs.join('\n')}`));
        else if (i >= 0) {
          const m = self.inbox.splice(i, 1)[0]!;
          outcome = () => resolve(m);
        } else if (self.done) outcome = () => reject(new Error(`${self.label} exited before '${type}'\n${self.logs.join('\n')}`));
        else if (Date.now() >= deadline) outcome = () => reject(new Error(`${self.label}: no '${type}' within ${ms} ms\n${self.logs.join('\n')}`));
        if (outcome === null) return;
        clearTimeout(timer);
        self.waiters = self.waiters.filter((w) => w !== check);
        outcome();
      }
      this.waiters.push(check);
      check();
    });
  }

  send(m: object): void {
    if (!this.done && this.child.connected) this.child.send(m);
  }

  /** Kills it (SIGKILL by default: a crash, no goodbye) and waits for it to be gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.done) this.child.kill(signal);
    await this.exited;
  }

  private poke(): void {
    for (const w of [...this.waiters]) w();
  }
}

/** Kills every worker still running. */
export async function stopAllProcs(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill()));
}

/** Workers still running (for the no-orphans check). */
export function liveProcs(): number {
  return live.size;
}
