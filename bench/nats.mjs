// node bench/nats.mjs: rx-netchan over NATS JetStream next to core NATS and plain JetStream
// publish/consume (and rx-netchan over TCP for reference), on one local nats-server with
// JetStream, every side a separate process (bench/proc.mjs, the same roles as `npm run bench`).
// Prints a markdown table of medians. Needs the built library (npm run build) and nats-server.
//
// Env: BENCH_REPS (default 3), BENCH_N_S1 (default 100,000), BENCH_N_S5 (default 100,000),
//      BENCH_NATS_SYSTEMS=nats-core,jetstream,rx-nats,rx-tcp, BENCH_TIMEOUT_MS (default 120,000).
import { fork, spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { now, median } from './lib/util.mjs';
import { findNatsServer, freePort } from './lib/natsServer.mjs';

const HERE = import.meta.dirname;
const REPS = Number(process.env.BENCH_REPS ?? 3);
const TIMEOUT = Number(process.env.BENCH_TIMEOUT_MS ?? 120_000);
const N1 = Number(process.env.BENCH_N_S1 ?? 100_000);
const N5 = Number(process.env.BENCH_N_S5 ?? 100_000);

export const NATS_SCENARIOS = {
  S1: { clients: 1, params: { n: N1 }, what: `${N1.toLocaleString('en')} values \`{ i, s, t }\`, 1 producer → 1 consumer` },
  S5out: { clients: 8, params: { n: N5, clients: 8 }, what: `${N5.toLocaleString('en')} values, 1 producer → 8 competing consumers` },
};

export const NATS_SYSTEMS = [
  { id: 'nats-core', label: 'NATS core pub/sub (no acks, no persistence)', module: 'nats-core' },
  { id: 'jetstream', label: 'JetStream publish / consume + ack (plain client)', module: 'jetstream' },
  { id: 'rx-nats', label: 'rx-netchan over NATS JetStream', module: 'rxnetchan', params: { transport: 'nats' } },
  { id: 'rx-tcp', label: 'rx-netchan TCP (reference)', module: 'rxnetchan', params: { transport: 'tcp' } },
];

const picked = process.env.BENCH_NATS_SYSTEMS?.split(',').map((s) => s.trim());
const systems = picked ? NATS_SYSTEMS.filter((s) => picked.includes(s.id)) : NATS_SYSTEMS;



/** nats-server with JetStream on a free loopback port and a temporary store (file storage, as rx-netchan's default). */
async function startJetStream() {
  const bin = findNatsServer();
  if (!bin) throw new Error('nats-server not found (Debian: apt-get install nats-server)');
  const port = await freePort();
  const store = fs.mkdtempSync(path.join(os.tmpdir(), 'rxnc-bench-js-'));
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', store], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise((res) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), res(true)));
      s.on('error', () => res(false));
    });
    if (ok) break;
    if (Date.now() > deadline) throw new Error('nats-server did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  return { url: `nats://127.0.0.1:${port}`, child, version, stop: () => (child.kill('SIGKILL'), fs.rmSync(store, { recursive: true, force: true })) };
}

function cpuOf(pid) {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const t = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return ((Number(t[11]) + Number(t[12])) / 100) * 1e6;
  } catch {
    return NaN;
  }
}

function startProc(cfg) {
  const child = fork(path.join(HERE, 'proc.mjs'), [JSON.stringify(cfg)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const inbox = [];
  const waiters = [];
  let exited = false;
  child.on('message', (m) => {
    const i = waiters.findIndex((w) => w.types.includes(m.type));
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  child.on('exit', () => {
    exited = true;
    for (const w of waiters.splice(0)) w.resolve({ type: 'exit' });
  });
  return {
    wait(types) {
      const i = inbox.findIndex((m) => types.includes(m.type));
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
      if (exited) return Promise.resolve({ type: 'exit' });
      return new Promise((resolve) => waiters.push({ types, resolve }));
    },
    send: (m) => !exited && child.connected && child.send(m),
    kill: () => exited || child.kill('SIGKILL'),
  };
}

let counter = 0;
async function runOne(system, scId, nats) {
  const sc = NATS_SCENARIOS[scId];
  const params = { ...sc.params, ...system.params, natsUrl: nats.url, subject: `bench.nats.${process.pid}.${counter++}` };
  const base = { system: system.module, scenario: scId, params, timeoutMs: TIMEOUT };
  const procs = [];
  const cpu0 = cpuOf(nats.child.pid);
  let timer;
  try {
    return await Promise.race([
      new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`timed out after ${TIMEOUT} ms`)), TIMEOUT + 5_000))),
      (async () => {
        const server = startProc({ ...base, role: 'server' });
        procs.push(server);
        const r = await server.wait(['ready', 'fail', 'skip']);
        if (r.type !== 'ready') throw new Error(`server: ${r.error ?? r.note ?? 'exited'}`);
        const clients = [];
        for (let k = 0; k < sc.clients; k++) {
          const c = startProc({ ...base, role: 'client', url: r.url, index: k });
          procs.push(c);
          clients.push(c);
        }
        for (const c of clients) {
          const m = await c.wait(['ready', 'fail']);
          if (m.type !== 'ready') throw new Error(`client: ${m.error ?? 'exited'}`);
        }
        for (const c of clients) {
          const m = await c.wait(['done', 'fail']);
          if (m.type !== 'done') throw new Error(`client: ${m.error ?? 'exited'}`);
        }
        for (const p of procs) p.send({ type: 'stop' });
        const results = [];
        for (const p of procs) {
          const m = await p.wait(['result', 'fail']);
          if (m.type !== 'result') throw new Error(`result: ${m.error ?? 'exited'}`);
          results.push(m.result);
        }
        const [srv, ...cls] = results;
        const tLast = Math.max(...cls.map((c) => c.tLast));
        const ms = tLast - srv.t0;
        const got = cls.reduce((a, c) => a + c.count, 0);
        const serverCpu = cpuOf(nats.child.pid) - cpu0;
        const cpuUs = srv.cpuUs + cls.reduce((a, c) => a + c.cpuUs, 0);
        const share = got / cls.length;
        return {
          rate: (got / ms) * 1000,
          ms,
          lost: params.n - got,
          cpuPerValue: cpuUs / got,
          natsCpuPerValue: serverCpu / got,
          spread: (Math.max(...cls.map((c) => Math.abs(c.count - share))) / share) * 100,
        };
      })(),
    ]);
  } catch (e) {
    return { fail: String(e?.message ?? e).split('\n')[0] };
  } finally {
    clearTimeout(timer);
    await new Promise((r) => setTimeout(r, 300));
    for (const p of procs) p.kill();
  }
}

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d }) : '–');

async function main() {
  const libDir = path.resolve(HERE, '../dist');
  if (!fs.existsSync(path.join(libDir, 'nats.js'))) throw new Error('no built library with rx-netchan/nats in dist/: run npm run build first');
  if (!findNatsServer()) {
    console.log('Skipped: nats-server is not installed (Debian: apt-get install nats-server).');
    return;
  }
  const nats = await startJetStream();
  const runs = {};
  process.on('SIGINT', () => (nats.stop(), process.exit(130)));
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const sc of Object.keys(NATS_SCENARIOS)) {
        const order = systems.map((_, i) => systems[(i + rep) % systems.length]);
        for (const s of order) {
          const t = Date.now();
          const m = await runOne(s, sc, nats);
          ((runs[s.id] ??= {})[sc] ??= []).push(m);
          const what = m.fail ? `FAILED ${m.fail}` : `${fmt(m.rate)} values/s, ${fmt(m.cpuPerValue, 1)} µs CPU/value (+${fmt(m.natsCpuPerValue, 1)} nats-server), lost ${m.lost}`;
          console.error(`[bench:nats] rep ${rep + 1} ${sc} ${s.id}: ${what} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
        }
      }
    }
  } finally {
    nats.stop();
  }
  const med = (id, sc, k) => median((runs[id]?.[sc] ?? []).filter((m) => !m.fail).map((m) => m[k]));
  const lines = [
    `rx-netchan over NATS (node bench/nats.mjs): medians of ${REPS} interleaved reps; ${new Date().toISOString()}, Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${nats.version}, file storage.`,
    '',
    `| system | S1 values/s | S1 µs CPU/value (clients + nats-server) | S5out values/s | S5out µs CPU/value | S5out spread |`,
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const s of systems) {
    lines.push(
      `| ${s.label} | ${fmt(med(s.id, 'S1', 'rate'))} | ${fmt(med(s.id, 'S1', 'cpuPerValue'), 1)} + ${fmt(med(s.id, 'S1', 'natsCpuPerValue'), 1)} | ${fmt(med(s.id, 'S5out', 'rate'))} | ${fmt(med(s.id, 'S5out', 'cpuPerValue'), 1)} + ${fmt(med(s.id, 'S5out', 'natsCpuPerValue'), 1)} | ${fmt(med(s.id, 'S5out', 'spread'))} % |`,
    );
  }
  lines.push('', ...Object.entries(NATS_SCENARIOS).map(([k, v]) => `${k}: ${v.what}.`));
  const failures = Object.entries(runs).flatMap(([id, scs]) => Object.entries(scs).flatMap(([sc, ms]) => ms.filter((m) => m.fail).map((m) => `${id} ${sc}: ${m.fail}`)));
  if (failures.length) lines.push('', 'Failed runs:', ...failures.map((f) => `- ${f}`));
  console.log(lines.join('\n'));
}

await main();
