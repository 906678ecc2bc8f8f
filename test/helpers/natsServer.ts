import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * Real nats-server processes for the NATS tests: JetStream on free loopback
 * ports with a temporary store, single or as a 3-node cluster with routes.
 * Every process started here is killed by `stop()`, by `stopAllNatsServers()`
 * (afterAll) and, should the test process die, by the kernel (setpriv
 * --pdeathsig), so no nats-server outlives its test run.
 */

/** Where Debian puts it (`/usr/sbin` is not on every user's PATH). */
export function natsServerPath(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, 'nats-server');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

/** Every server process alive now, for leak checks and the exit handler. */
const live = new Set<ChildProcess>();
const servers = new Set<NatsServer>();
const clusters = new Set<NatsCluster>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous last resort when a test run ends without its afterAll.
  process.once('exit', () => {
    for (const p of live) p.kill('SIGKILL');
  });
}

/** PIDs of the nats-server processes started here that are still running. */
export function liveNatsServerPids(): number[] {
  return [...live].map((p) => p.pid!).filter((pid) => pid !== undefined);
}

/** Kills every server and cluster started here and removes their directories. */
export async function stopAllNatsServers(): Promise<void> {
  await Promise.all([...clusters].map((c) => c.stop()));
  await Promise.all([...servers].map((s) => s.stop()));
}

const handedOut = new Set<number>();

/** A port free on 127.0.0.1 now (never the same one twice in this process). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** GET a monitoring endpoint (`/connz?subs=1`, `/jsz` …) as JSON. */
function monitor(port: number, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (e) {
          reject(e);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`monitoring ${path} timed out`)));
    req.on('error', reject);
  });
}

function healthz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

export interface NatsServerPorts {
  client: number;
  monitor: number;
  /** Route port, when in a cluster. */
  cluster?: number;
}

/** One nats-server process (restartable on the same ports and store). */
export class NatsServer {
  private proc: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private removed = false;

  constructor(
    readonly name: string,
    readonly ports: NatsServerPorts,
    /** Holds the config, the log and the JetStream store (`<dir>/js`). */
    readonly dir: string,
    config: string,
    private readonly ownsDir: boolean,
  ) {
    writeFileSync(join(dir, `${name}.conf`), config);
    servers.add(this);
  }

  get url(): string {
    return `nats://127.0.0.1:${this.ports.client}`;
  }

  get running(): boolean {
    return this.proc !== null;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** Starts the process; resolves once `/healthz` answers 200 (JetStream ready), or rejects with the log. */
  async start(readyMs = 15_000): Promise<void> {
    if (this.proc) throw new Error(`${this.name} is already running`);
    const bin = natsServerPath();
    if (!bin) throw new Error('nats-server not found (apt-get install nats-server)');
    installExitHook();
    const args = ['-c', join(this.dir, `${this.name}.conf`)];
    const proc = SETPRIV
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args], { stdio: 'ignore' })
      : spawn(bin, args, { stdio: 'ignore' });
    this.proc = proc;
    live.add(proc);
    this.exited = new Promise<void>((resolve) => {
      proc.once('exit', () => {
        live.delete(proc);
        if (this.proc === proc) this.proc = null;
        resolve();
      });
      proc.once('error', () => {
        live.delete(proc);
        if (this.proc === proc) this.proc = null;
        resolve();
      });
    });
    if (!(await this.waitReady(readyMs))) {
      const log = this.log();
      await this.kill();
      throw new Error(`${this.name} did not become ready in ${readyMs} ms; log:\n${log.slice(-4_000)}`);
    }
  }

  /** True once healthz says 200; false if the process died or time ran out. */
  async waitReady(ms = 15_000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!this.proc) return false;
      if ((await healthz(this.ports.monitor)) === 200) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }

  /** SIGKILL (a crash: nothing flushed, no goodbye to peers); resolves once the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    if (!p) return;
    p.kill(signal);
    await this.exited;
  }

  /** Starts it again on the same ports with the same store. */
  async restart(readyMs?: number): Promise<void> {
    await this.kill();
    await this.start(readyMs);
  }

  /** Kills the process and removes its directory; idempotent. */
  async stop(): Promise<void> {
    await this.kill();
    servers.delete(this);
    if (this.ownsDir && !this.removed) {
      this.removed = true;
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** A monitoring endpoint's JSON (`/connz?subs=1`, `/jsz`, …). */
  monitor(path: string): Promise<unknown> {
    return monitor(this.ports.monitor, path);
  }

  /** Subscriptions the server holds for the client connection named `name`. */
  async subscriptionsOf(name: string): Promise<string[]> {
    const connz = (await this.monitor('/connz?subs=1')) as { connections?: Array<{ name?: string; subscriptions_list?: string[] }> };
    return connz.connections?.find((c) => c.name === name)?.subscriptions_list ?? [];
  }

  /** The server's log so far (for failure messages). */
  log(): string {
    try {
      return readFileSync(join(this.dir, `${this.name}.log`), 'utf8');
    } catch {
      return '';
    }
  }
}

function serverConfig(name: string, dir: string, ports: NatsServerPorts, extra: string): string {
  return [
    `server_name: ${name}`,
    `listen: "127.0.0.1:${ports.client}"`,
    `http: "127.0.0.1:${ports.monitor}"`,
    `log_file: "${join(dir, `${name}.log`)}"`,
    // Small limits: tests are small, and a 2-core CI box should not reserve much.
    `jetstream { store_dir: "${join(dir, name)}", max_memory_store: 64MB, max_file_store: 512MB }`,
    extra,
  ].join('\n');
}

export interface StartNatsServerConfig {
  /** Extra lines for the config file (authorization, tls, …). */
  extraConfig?: string;
}

/** Starts one JetStream-enabled nats-server on free loopback ports. */
export async function startNatsServer(config: StartNatsServerConfig = {}): Promise<NatsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'rx-netchan-nats-'));
  const ports = { client: await freePort(), monitor: await freePort() };
  const server = new NatsServer('n1', ports, dir, serverConfig('n1', dir, ports, config.extraConfig ?? ''), true);
  try {
    await server.start();
  } catch (e) {
    await server.stop();
    throw e;
  }
  return server;
}

/** A cluster of JetStream servers with full-mesh routes (R3 streams need three). */
export class NatsCluster {
  constructor(
    readonly nodes: NatsServer[],
    /** Holds every node's config, log and store. */
    readonly dir: string,
  ) {
    clusters.add(this);
  }

  /** Client URLs of every node (seed list). */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** Kills every node and removes the directory; idempotent. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    clusters.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts `size` nodes routed to each other; resolves once every node's healthz is 200. */
export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rx-netchan-natsc-'));
  const ports: NatsServerPorts[] = [];
  for (let i = 0; i < size; i++) {
    ports.push({ client: await freePort(), monitor: await freePort(), cluster: await freePort() });
  }
  const routes = ports.map((p) => `"nats-route://127.0.0.1:${p.cluster}"`).join(', ');
  const nodes = ports.map((p, i) => {
    const name = `n${i + 1}`;
    const cluster = `cluster { name: rxnc, listen: "127.0.0.1:${p.cluster}", routes: [${routes}] }`;
    return new NatsServer(name, p, dir, serverConfig(name, dir, p, cluster), false);
  });
  const cluster = new NatsCluster(nodes, dir);
  try {
    // Together: a lone node cannot elect a JetStream meta leader, so its healthz waits for the others.
    await Promise.all(nodes.map((n) => n.start(30_000)));
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
