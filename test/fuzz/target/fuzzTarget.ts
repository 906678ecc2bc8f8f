// The process under attack, run as a child (targetProcess.ts bundles and
// spawns it) so that a peer that crashes it or holds its event loop does not
// take the test runner along. Mode 'exporter': an Exporter on 127.0.0.1 for
// fake importers. Mode 'importer': Importers dialing a fake exporter. Both
// also run a well-behaved connection ('steady') and report, when the parent
// asks: memory, the longest event-loop delay, frames decoded, and every error
// that is not a NetchanError with one of our codes.
import { createServer, type AddressInfo, type Server } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  Exporter,
  Importer,
  exportChannel,
  importChannel,
  isNetchanError,
  type Connection,
  type ConnectionHandler,
  type Delivery,
  type SendChannel,
} from '../../../src/index.js';
import { SocketConnection } from '../../../src/node.js';
import type { TargetMessage, TargetStats } from './protocol.js';

const OUR_CODES = new Set(['ENOCHAN', 'EDIR', 'EEXIST', 'ETIMEDOUT', 'EPROTO', 'ETOOBIG', 'ECLOSED', 'EAUTH', 'EOVERFLOW', 'EREMOTE', 'EINVAL']);
const mode = process.env['FUZZ_TARGET_MODE'] === 'importer' ? 'importer' : 'exporter';
const send = (m: TargetMessage): void => void process.send?.(m);

process.on('uncaughtException', (e) => fatal(e));
process.on('unhandledRejection', (e) => fatal(e));
function fatal(e: unknown): void {
  const err = e as Error;
  process.stderr.write(`fuzz target: uncaught ${err?.stack ?? String(e)}\n`);
  send({ type: 'fatal', message: `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}` });
  process.exit(70);
}

// ---- measurements ----

const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
let peakRss = 0;
let loopMaxTotal = 0;
const codes: Record<string, number> = {};
let foreign: string[] = [];

/** Counts an error from the library: ours, or foreign (a finding). */
function classify(e: unknown): void {
  if (isNetchanError(e) && OUR_CODES.has(e.code)) codes[e.code] = (codes[e.code] ?? 0) + 1;
  else {
    const err = e as { name?: unknown; code?: unknown; message?: unknown };
    if (foreign.length < 20) foreign.push(`${String(err?.name)} code=${JSON.stringify(err?.code)}: ${String(err?.message).slice(0, 200)}`);
  }
}

// Frames each connection decoded, read from its link when it closes (Link.framesIn and Link.failure are public).
let framesDecoded = 0;
let framesRejected = 0;
let sessions = 0;
const live = new Set<ConnectionHandler>();
type SessionLike = ConnectionHandler & { framesIn?: number; failure?: { code?: string } };

function framesOf(h: SessionLike): number {
  return h.framesIn ?? 0;
}

/** Wraps a connection to learn, when it closes, how many frames its session took in. */
function counted(conn: Connection): Connection {
  return {
    get remote() {
      return conn.remote;
    },
    get keepalive() {
      return conn.keepalive;
    },
    get framing() {
      return conn.framing;
    },
    get bufferedBytes() {
      return conn.bufferedBytes;
    },
    start(handler: ConnectionHandler) {
      const h = handler as SessionLike;
      live.add(h);
      sessions++;
      conn.start({
        onData: (c) => h.onData(c),
        onDrain: () => h.onDrain?.(),
        onClose: (err) => {
          h.onClose(err);
          live.delete(h);
          framesDecoded += framesOf(h);
          const code = h.failure?.code;
          if (code === 'EPROTO' || code === 'ETOOBIG') framesRejected++;
        },
      });
    },
    write: (c) => conn.write(c),
    flush: () => conn.flush?.(),
    close: (r) => conn.close(r),
    destroy: (e) => (conn.destroy ? conn.destroy(e) : conn.close()),
  };
}

// ---- the well-behaved connection ----

let steadyReceived = 0;
let steadyGaps = 0;
let steadyNext = 0;

/**
 * Exports 'steady' on `exporter`, fed at a steady rate (FUZZ_STEADY_RATE values/s,
 * default 20,000: enough to notice a stall, not so much that it eats the CPU the
 * attack needs), and imports it over real TCP.
 */
function startSteady(exporter: Exporter, port: number): { importer: Importer; feed(): void } {
  const steady = exportChannel<number>(exporter, 'steady', 'send', { queueLimit: 4096 });
  const rate = Number(process.env['FUZZ_STEADY_RATE'] ?? 20_000);
  const t0 = Date.now();
  let produced = 0;
  const importer = Importer.connect(`tcp://127.0.0.1:${port}`);
  importer.errors$.subscribe({ next: classify });
  importChannel<number>(importer, 'steady', 'recv', { size: 256 }).subscribe({
    next: (v) => {
      if (v !== steadyNext) steadyGaps++;
      steadyNext = v + 1;
      steadyReceived++;
    },
    error: classify,
  });
  return {
    importer,
    feed: () => {
      const due = Math.floor(((Date.now() - t0) * rate) / 1000);
      for (let room = steady.capacity; room > 0 && produced < due; room--) steady.next(produced++);
    },
  };
}

// ---- exporter mode ----

async function exporterMode(): Promise<{ port: number; close(): Promise<void> }> {
  const exporter = new Exporter();
  exporter.errors$.subscribe({ next: classify });
  const jobs: SendChannel<number> = exportChannel<number>(exporter, 'jobs', 'send', { queueLimit: 4096 });
  exportChannel<unknown>(exporter, 'inbox', 'recv', { keepOpen: true }).subscribe({ error: classify });
  // Read, never acknowledged: each binding's window fills and stays full.
  exportChannel<unknown>(exporter, 'sink', 'recv', { keepOpen: true, ack: 'manual' }).subscribe({ next: (_d: Delivery<unknown>) => {}, error: classify });
  const server: Server = createServer((socket) => {
    socket.on('error', () => {});
    exporter.serveConnection(counted(new SocketConnection(socket, `tcp://${socket.remoteAddress}:${socket.remotePort}`)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  // The steady connection comes in through a listener of its own, so its frames are not counted as the fuzzer's.
  const steadyServer = await serve(exporter);
  const steady = startSteady(exporter, steadyServer.port);
  let n = 0;
  const topUp = setInterval(() => {
    for (let room = jobs.capacity; room > 0; room--) jobs.next(n++ & 0xffff);
    steady.feed();
  }, 5);
  topUp.unref();
  return {
    port,
    close: async () => {
      clearInterval(topUp);
      await steady.importer.close();
      await exporter.close();
      await new Promise<void>((r) => server.close(() => r()));
      await steadyServer.close();
    },
  };
}

/** A plain TCP listener for `exporter` on 127.0.0.1, port 0. */
async function serve(exporter: Exporter): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    exporter.serveConnection(new SocketConnection(socket, `tcp://${socket.remoteAddress}:${socket.remotePort}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// ---- importer mode ----

interface ImporterMode {
  port: number;
  dial(url: string, pool: number): void;
  close(): Promise<void>;
}

async function importerMode(): Promise<ImporterMode> {
  // The steady connection runs on an exporter of our own.
  const exporter = new Exporter();
  exporter.errors$.subscribe({ next: classify });
  const server = await serve(exporter);
  const port = server.port;
  const steady = startSteady(exporter, port);
  const topUp = setInterval(() => steady.feed(), 5);
  topUp.unref();

  const importers = new Set<Importer>();
  let target = '';
  let want = 0;
  let k = 0;
  let stopping = false;
  const dialOne = (): void => {
    const importer = Importer.connect(target);
    importers.add(importer);
    const sizes = [1, 16, 256];
    const subs = [
      importChannel<unknown>(importer, 'a', 'recv', { size: sizes[k++ % 3] }).subscribe({ error: classify }),
      importChannel<unknown>(importer, 'b', 'recv', { size: 8, ack: 'manual' }).subscribe({
        next: (d: Delivery<unknown>) => setImmediate(() => d.ack()),
        error: classify,
      }),
    ];
    const c = importChannel<number>(importer, 'c', 'send', { size: 4 });
    subs.push(c.subscribe({ error: classify }));
    for (let i = 0; i < 40; i++) {
      try {
        c.next(i);
      } catch (e) {
        classify(e);
        break;
      }
    }
    importer.errors$.subscribe({
      next: classify,
      complete: () => {
        framesDecoded += importer.stats.framesIn;
        sessions++;
        for (const s of subs) s.unsubscribe();
        importers.delete(importer);
        if (!stopping && importers.size < want) setImmediate(dialOne);
      },
    });
  };
  return {
    port,
    dial(url, pool) {
      target = url;
      want = pool;
      while (importers.size < want) dialOne();
    },
    close: async () => {
      stopping = true;
      clearInterval(topUp);
      await Promise.all([...importers].map((i) => i.close()));
      await steady.importer.close();
      await exporter.close();
      await server.close();
    },
  };
}

// ---- reports ----

function stats(): TargetStats {
  const rss = process.memoryUsage.rss();
  peakRss = Math.max(peakRss, rss);
  const loopMax = loop.max / 1e6;
  loopMaxTotal = Math.max(loopMaxTotal, loopMax);
  loop.reset();
  let liveFrames = 0;
  for (const h of live) liveFrames += framesOf(h as SessionLike);
  const out: TargetStats = {
    at: Date.now(),
    rssMB: rss / 2 ** 20,
    peakRssMB: peakRss / 2 ** 20,
    heapMB: process.memoryUsage().heapUsed / 2 ** 20,
    loopMaxMs: loopMax,
    loopMaxTotalMs: loopMaxTotal,
    framesDecoded: framesDecoded + liveFrames - framesRejected,
    sessions,
    steadyReceived,
    steadyGaps,
    codes: { ...codes },
    foreign,
  };
  foreign = [];
  return out;
}

async function main(): Promise<void> {
  const target: { port: number; close(): Promise<void>; dial?: (url: string, pool: number) => void } =
    mode === 'exporter' ? await exporterMode() : await importerMode();
  // Baseline throughput of the steady connection, before anyone attacks.
  const t0 = Date.now();
  const r0 = steadyReceived;
  await new Promise((r) => setTimeout(r, Number(process.env['FUZZ_BASELINE_MS'] ?? 500)));
  const baseline = ((steadyReceived - r0) * 1000) / (Date.now() - t0);
  loop.reset();
  process.on('message', (m: TargetMessage) => {
    if (m.type === 'probe') send({ type: 'stats', id: m.id, stats: stats() });
    else if (m.type === 'dial') target.dial?.(m.url, m.pool);
    else if (m.type === 'stop') {
      void target.close().then(() => {
        send({ type: 'stats', id: m.id, stats: stats() });
        process.disconnect?.();
        setTimeout(() => process.exit(0), 50).unref();
      });
    }
  });
  send({ type: 'ready', port: target.port, baseline });
}

void main();
