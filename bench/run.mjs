// npm run bench: rx-netchan against the raw-socket limit and its peers (issue 4).
// Every system runs as separate node processes over 127.0.0.1; reps are
// interleaved (rep → scenario → systems, rotated); medians go to a markdown
// table (stdout + bench/RESULTS.md) and an SVG chart (bench/results.svg).
//
// Env: BENCH_QUICK=1 (small smoke run), BENCH_REPS=n (S1–S3, default 5),
//      BENCH_S4_REPS / BENCH_S5_REPS (default 1), BENCH_SYSTEMS=raw,rx-tcp,…,
//      BENCH_SCENARIOS=S1,S3,S1@20ms,…, BENCH_LIB_DIR=path to a built dist/ (default ../dist),
//      BENCH_LINK_RATE=bytes/s of the latency link (default 125,000,000: 1 Gbit/s),
//      BENCH_OUT=dir for RESULTS.md/results.svg (default bench/; a quick run writes
//      RESULTS.quick.md unless BENCH_OUT is set), BENCH_CPU_PROF_DIR=dir (run every
//      process under node --cpu-prof; see profile.mjs), BENCH_TIMEOUT_MS,
//      BENCH_SECTIONS=main,nats,ends (default all: after the main table, nats.mjs
//      prints rx-netchan over NATS beside core NATS and JetStream, and ends.mjs a
//      256 MiB stream through a travelled channel end beside a named channel;
//      both are appended to RESULTS.md).
import { fork, spawn, execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { now, median } from './lib/util.mjs';
import { findNatsServer, freePort } from './lib/natsServer.mjs';
import { renderMarkdown, renderSvg } from './lib/report.mjs';

const HERE = import.meta.dirname;
const QUICK = process.env.BENCH_QUICK === '1';
const REPS = Number(process.env.BENCH_REPS ?? (QUICK ? 1 : 5));
const S4_REPS = Number(process.env.BENCH_S4_REPS ?? 1); // S4 alone takes ~25 s per system
const S5_REPS = Number(process.env.BENCH_S5_REPS ?? 1); // S5 starts 9 processes per run
const repsOf = (sc) => (sc === 'S4' ? S4_REPS : sc.startsWith('S5') ? S5_REPS : REPS);
const OUT_DIR = process.env.BENCH_OUT ?? HERE;
const RESULTS_NAME = QUICK && !process.env.BENCH_OUT ? 'RESULTS.quick' : 'RESULTS';

export const SCENARIOS = {
  S1: { clients: 1, params: { n: QUICK ? 20_000 : 200_000 }, what: 'values `{ i, s, t }`' },
  S2: { clients: 1, params: { n: QUICK ? 200 : 2_000, value: 'blob' }, what: '64 KiB Uint8Array values' },
  S3: { clients: 1, params: { n: QUICK ? 500 : 5_000, warmup: QUICK ? 100 : 500 }, what: 'sequential round trips' },
  S4: { clients: 1, params: { n: QUICK ? 100_000 : 1_000_000, workUs: 10 }, what: 'slow consumer (10 µs/value)' },
  S5out: { clients: 8, params: { n: QUICK ? 20_000 : 200_000, clients: 8 }, what: '1 exporter → 8 competing importers' },
  S5in: { clients: 8, params: { n: QUICK ? 20_000 : 200_000, clients: 8 }, what: '8 importers → 1 exported recv channel' },
};
SCENARIOS.S5in.params.perClient = SCENARIOS.S5in.params.n / 8;
// S1 and S2 again through a FaultProxy (in this process) that adds half the round
// trip each way and caps the bandwidth: a real network instead of loopback. Only
// the systems without a small fixed credit window run them (credit 64 or
// request-n 64 would take a minute per run at 64 values per round trip).
export const LINK_RATE = Number(process.env.BENCH_LINK_RATE ?? 125_000_000);
export const LINK_SYSTEMS = ['raw', 'rx-tcp', 'rx-ws', 'ws'];
for (const rtt of [20, 50]) {
  SCENARIOS[`S1@${rtt}ms`] = { ...SCENARIOS.S1, base: 'S1', rttMs: rtt, what: `S1 through a ${rtt} ms round trip` };
  SCENARIOS[`S2@${rtt}ms`] = { ...SCENARIOS.S2, base: 'S2', rttMs: rtt, what: `S2 through a ${rtt} ms round trip` };
}
const baseOf = (sc) => SCENARIOS[sc].base ?? sc;

export const SYSTEMS = [
  { id: 'raw', label: 'raw TCP, no acks (the limit)', module: 'raw', params: { credit: 0 } },
  { id: 'raw-credit', label: 'raw TCP + credit 64, ack/16', module: 'raw', params: { credit: 64, ackEvery: 16 } },
  { id: 'rx-tcp', label: 'rx-netchan TCP', module: 'rxnetchan', params: { transport: 'tcp' } },
  { id: 'rx-ws', label: 'rx-netchan WebSocket', module: 'rxnetchan', params: { transport: 'ws' }, skippable: true },
  { id: 'ws', label: 'ws + msgpack', module: 'ws', params: {} },
  { id: 'socketio', label: 'Socket.IO', module: 'socketio', params: {} },
  { id: 'rsocket', label: 'RSocket requestStream (request-n 64/16)', module: 'rsocket', params: { window: 64, refill: 16 } },
  { id: 'nats', label: 'NATS core (nats-server)', module: 'nats', params: {}, needsNats: true },
  // diagnostics, only when named in BENCH_SYSTEMS: rx-netchan with a larger import window (`size`)
  { id: 'rx-tcp-w1024', label: 'rx-netchan TCP, size 1024', module: 'rxnetchan', params: { transport: 'tcp', size: 1024 }, extra: true },
  { id: 'rx-tcp-w4096', label: 'rx-netchan TCP, size 4096', module: 'rxnetchan', params: { transport: 'tcp', size: 4096 }, extra: true },
];

const pickList = (env, all) => (env ? env.split(',').map((s) => s.trim()).filter((s) => all.includes(s)) : all);
const systems = process.env.BENCH_SYSTEMS
  ? SYSTEMS.filter((s) => pickList(process.env.BENCH_SYSTEMS, SYSTEMS.map((x) => x.id)).includes(s.id))
  : SYSTEMS.filter((s) => !s.extra);
const scenarios = pickList(process.env.BENCH_SCENARIOS, Object.keys(SCENARIOS));
const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS ?? (QUICK ? 60_000 : 180_000));

let libInfo = '?';
// ---- the library under test: snapshot dist/ so a concurrent rebuild cannot break a run ----
function snapshotLib() {
  const src = process.env.BENCH_LIB_DIR ?? path.resolve(HERE, '../dist');
  if (!fs.existsSync(path.join(src, 'index.js'))) throw new Error(`no built library at ${src}: run npm run build first`);
  // under BENCH_CPU_PROF_DIR the snapshot stays next to the profiles, for their source maps
  const keep = process.env.BENCH_CPU_PROF_DIR;
  const tmp = fs.mkdtempSync(path.join(keep ?? os.tmpdir(), 'rxnc-bench-'));
  let head = '?';
  try {
    head = execFileSync('git', ['-C', path.resolve(src, '..'), 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim().slice(0, 90);
  } catch {}
  libInfo = `dist/ built ${fs.statSync(path.join(src, 'index.js')).mtime.toISOString()}, repo HEAD ${head}`;
  fs.cpSync(src, path.join(tmp, 'dist'), { recursive: true });
  fs.symlinkSync(path.resolve(src, '../node_modules'), path.join(tmp, 'node_modules'), 'dir');
  return { dir: path.join(tmp, 'dist'), cleanup: () => keep || fs.rmSync(tmp, { recursive: true, force: true }) };
}

// ---- nats-server on a random loopback port ----
async function startNats() {
  const bin = findNatsServer();
  if (!bin) return { note: 'nats-server not installed (Debian: apt-get install nats-server); row skipped' };
  const port = await freePort();
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const ok = await new Promise((res) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), res(true)));
      s.on('error', () => res(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  let version = '';
  try {
    version = execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim();
  } catch {}
  return { url: `nats://127.0.0.1:${port}`, child, version };
}
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
  } catch {
    return 100;
  }
})();
function procCpuUs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1e6;
  } catch {
    return NaN;
  }
}

// ---- one run: a server process and its client processes ----
function startProc(cfg, extraEnv, execArgv = []) {
  const child = fork(path.join(HERE, 'proc.mjs'), [JSON.stringify(cfg)], {
    env: { ...process.env, ...extraEnv },
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const inbox = [];
  const waiters = [];
  child.on('message', (m) => {
    const i = waiters.findIndex((w) => w.types.includes(m.type));
    if (i >= 0) waiters.splice(i, 1)[0].resolve(m);
    else inbox.push(m);
  });
  let exited = false;
  child.on('exit', (code) => {
    exited = true;
    for (const w of waiters.splice(0)) w.resolve({ type: 'exit', code });
  });
  return {
    child,
    wait(types) {
      const i = inbox.findIndex((m) => types.includes(m.type));
      if (i >= 0) return Promise.resolve(inbox.splice(i, 1)[0]);
      if (exited) return Promise.resolve({ type: 'exit' });
      return new Promise((resolve) => waiters.push({ types, resolve }));
    },
    send(m) {
      if (!exited && child.connected) child.send(m);
    },
    /** Lets the process exit by itself (it writes --cpu-prof output on exit), then kills it. */
    async end(graceMs) {
      if (!exited && graceMs > 0) await Promise.race([new Promise((r) => child.once('exit', r)), new Promise((r) => setTimeout(r, graceMs))]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}

function withTimeout(p, ms, what) {
  let t;
  return Promise.race([p, new Promise((_, rej) => (t = setTimeout(() => rej(new Error(`${what}: timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(t));
}

async function runOne(system, scenarioId, env) {
  const sc = SCENARIOS[scenarioId];
  const params = { ...sc.params, ...system.params, natsUrl: env.natsUrl, subject: `bench.${process.pid}.${runCounter++}` };
  const base = { system: system.module, scenario: baseOf(scenarioId), params, timeoutMs, skippable: !!system.skippable };
  const procs = [];
  let proxy = null;
  const execArgv = env.execArgv ?? [];
  const natsCpu0 = system.needsNats ? procCpuUs(env.natsPid) : 0;
  try {
    return await withTimeout(
      (async () => {
        const server = startProc({ ...base, role: 'server' }, env.procEnv, execArgv);
        procs.push(server);
        const r = await server.wait(['ready', 'skip', 'fail']);
        if (r.type === 'skip') return { skip: r.note };
        if (r.type !== 'ready') throw new Error(`server: ${r.error ?? 'exited'}`);
        let url = r.url;
        if (sc.rttMs) {
          proxy = await env.startLink(r.url, sc.rttMs);
          const u = new URL(r.url);
          u.host = `127.0.0.1:${proxy.port}`;
          url = u.href;
        }
        const clients = [];
        for (let k = 0; k < sc.clients; k++) {
          const c = startProc({ ...base, role: 'client', url, index: k }, env.procEnv, execArgv);
          procs.push(c);
          clients.push(c);
        }
        for (const c of clients) {
          const m = await c.wait(['ready', 'fail']);
          if (m.type !== 'ready') throw new Error(`client: ${m.error ?? 'exited'}`);
        }
        let tGo = 0;
        if (scenarioId === 'S5in') {
          tGo = now();
          for (const c of clients) c.send({ type: 'go' });
        }
        if (scenarioId === 'S3' || scenarioId === 'S5in') {
          // a client that fails meanwhile ends the run at once, with its reason
          const m = await Promise.race([server.wait(['done', 'fail']), ...clients.map((c) => c.wait(['fail']).then((f) => ({ ...f, who: 'client' })))]);
          if (m.type !== 'done') throw new Error(`${m.who ?? 'server'}: ${m.error ?? 'exited'}`);
        } else {
          for (const c of clients) {
            const m = await c.wait(['done', 'fail']);
            if (m.type !== 'done') throw new Error(`client: ${m.error ?? 'exited'}`);
          }
        }
        for (const p of procs) p.send({ type: 'stop' });
        const results = [];
        for (const p of procs) {
          const m = await p.wait(['result', 'fail']);
          if (m.type !== 'result') throw new Error(`result: ${m.error ?? 'exited'}`);
          results.push(m.result);
        }
        const natsCpu = system.needsNats ? procCpuUs(env.natsPid) - natsCpu0 : 0;
        return metrics(baseOf(scenarioId), params, results[0], results.slice(1), tGo, natsCpu);
      })(),
      timeoutMs + 10_000,
      `${system.id} ${scenarioId}`,
    );
  } catch (err) {
    return { fail: String(err?.message ?? err).split('\n')[0] };
  } finally {
    await Promise.all(procs.map((p) => p.end(env.execArgv ? 5000 : 500)));
    // (bounded: a proxy that does not let go must not hold the run)
    if (proxy) await Promise.race([proxy.close(), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}
let runCounter = 0;

function metrics(sc, params, server, clients, tGo, extraCpuUs) {
  const cpuTotal = server.cpuUs + clients.reduce((a, c) => a + c.cpuUs, 0) + extraCpuUs;
  const mib = (b) => b / 1048576;
  if (sc === 'S3') return { p50: server.p50, p90: server.p90, p99: server.p99, cpuPerValue: cpuTotal / (params.n + params.warmup) };
  if (sc === 'S5in') {
    const ms = server.tLast - tGo;
    return { rate: (params.n / ms) * 1000, ms, cpuPerValue: cpuTotal / params.n };
  }
  const tLast = Math.max(...clients.map((c) => c.tLast));
  const ms = tLast - server.t0;
  const got = clients.reduce((a, c) => a + c.count, 0);
  const m = { rate: (got / ms) * 1000, ms, cpuPerValue: cpuTotal / got, lost: params.n - got };
  // each side's share: the busier one bounds the rate when the two run in parallel
  m.cpuProducer = server.cpuUs / got;
  m.cpuConsumer = clients.reduce((a, c) => a + c.cpuUs, 0) / got;
  if (sc === 'S2') {
    m.mibps = (got * 64) / 1024 / (ms / 1000);
    m.serverPeakRss = mib(server.maxRss); // the producer's peak RSS (absolute): what holding the values costs
  }
  if (sc === 'S4') {
    m.serverRss = mib(server.maxRss - server.rssIdle);
    m.clientRss = mib(Math.max(...clients.map((c) => c.maxRss - c.rssIdle)));
  }
  if (sc === 'S5out') {
    const share = got / clients.length;
    m.spread = (Math.max(...clients.map((c) => Math.abs(c.count - share))) / share) * 100;
    m.counts = clients.map((c) => c.count);
  }
  return m;
}

// ---- main ----
async function main() {
  const started = Date.now();
  const lib = snapshotLib();
  const nats = systems.some((s) => s.needsNats) ? await startNats() : { note: 'not selected' };
  const { FaultProxy } = await import(pathToFileURL(path.join(lib.dir, 'node.js')).href);
  const startLink = (url, rttMs) =>
    FaultProxy.start(url, {
      toxics: { latency: { latency: rttMs / 2 }, bandwidth: { rate: LINK_RATE } },
      highWaterMark: 64 * 1024 * 1024, // a deep pipe: the bandwidth-delay product must fit
    });
  const env = { procEnv: { BENCH_LIB_DIR: lib.dir }, natsUrl: nats.url, natsPid: nats.child?.pid, startLink };
  if (process.env.BENCH_CPU_PROF_DIR) env.execArgv = ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`];
  const cleanup = () => {
    nats.child?.kill('SIGTERM');
    lib.cleanup();
  };
  process.on('SIGINT', () => (cleanup(), process.exit(130)));
  const runs = {}; // runs[system][scenario] = [metrics…]
  const notes = {};
  for (const s of systems) {
    runs[s.id] = {};
    if (s.needsNats && !nats.url) notes[s.id] = nats.note;
  }
  const maxReps = Math.max(...scenarios.map(repsOf));
  try {
    for (let rep = 0; rep < maxReps; rep++) {
      for (const sc of scenarios) {
        if (rep >= repsOf(sc)) continue;
        const here = SCENARIOS[sc].rttMs ? systems.filter((s) => LINK_SYSTEMS.includes(s.id)) : systems;
        const order = here.map((_, i) => here[(i + rep) % here.length]);
        for (const s of order) {
          if (notes[s.id] && (runs[s.id].skipped || (s.needsNats && !nats.url))) continue;
          const t = Date.now();
          const m = await runOne(s, sc, env);
          if (m.skip) {
            notes[s.id] = `skipped: ${m.skip}`;
            runs[s.id].skipped = true;
            console.error(`[bench] ${s.id}: skipped (${m.skip})`);
            continue;
          }
          (runs[s.id][sc] ??= []).push(m);
          if (m.fail) notes[`${s.id} ${sc}`] = m.fail;
          console.error(`[bench] rep ${rep + 1} ${sc} ${s.id}: ${summary(m)} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
        }
      }
    }
  } finally {
    cleanup();
  }
  const med = {};
  for (const s of systems) {
    med[s.id] = {};
    for (const sc of scenarios) {
      const list = (runs[s.id][sc] ?? []).filter((m) => !m.fail);
      if (!list.length) continue;
      const keys = Object.keys(list[0]).filter((k) => typeof list[0][k] === 'number');
      med[s.id][sc] = Object.fromEntries(keys.map((k) => [k, median(list.map((m) => m[k]))]));
      med[s.id][sc].reps = list.length;
      if (sc === 'S5out') med[s.id][sc].counts = list[0].counts;
      // ratio to the raw limit: per rep (raw ran in the same rep, under the same load), then the median
      const key = baseOf(sc) === 'S3' ? 'p50' : 'rate';
      const rawList = runs.raw?.[sc] ?? [];
      const all = runs[s.id][sc] ?? [];
      med[s.id][sc].ratio = median(all.map((m, i) => (!m.fail && rawList[i] && !rawList[i].fail ? m[key] / rawList[i][key] : NaN)));
    }
  }
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}`,
    os: `${os.type()} ${os.release()}`,
    quick: QUICK,
    reps: REPS,
    s4reps: S4_REPS,
    s5reps: S5_REPS,
    wallSeconds: Math.round((Date.now() - started) / 1000),
    nats: nats.version ?? nats.note,
    lib: libInfo,
    scenarios: Object.fromEntries(scenarios.map((k) => [k, SCENARIOS[k]])),
  };
  meta.linkRate = LINK_RATE;
  const md = renderMarkdown({ meta, systems, scenarios, med, notes, svgName: `${RESULTS_NAME === 'RESULTS' ? 'results' : 'results.quick'}.svg` });
  console.log(md);
  fs.writeFileSync(path.join(OUT_DIR, `${RESULTS_NAME}.md`), md);
  fs.writeFileSync(path.join(OUT_DIR, `${RESULTS_NAME === 'RESULTS' ? 'results' : 'results.quick'}.svg`), renderSvg({ systems, med, meta }));
  fs.writeFileSync(path.join(OUT_DIR, `${RESULTS_NAME}.json`), JSON.stringify({ meta, runs, med, notes }, null, 1));
}

/** Runs one of the other bench scripts and returns what it printed (its table), or why it could not. */
function section(script, args, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(HERE, script), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20 * 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? out.trim() : `${script} failed (exit ${code}):\n\n${out.trim()}`);
    });
  });
}

async function sections(which) {
  const parts = [];
  if (which.includes('nats')) {
    const env = QUICK ? { BENCH_REPS: '1', BENCH_N_S1: '20000', BENCH_N_S5: '20000' } : {};
    parts.push('## rx-netchan over NATS JetStream', '', await section('nats.mjs', [], env));
  }
  if (which.includes('ends')) {
    const args = QUICK ? ['--mib', '32', '--reps', '1'] : [];
    parts.push('', '## A channel end inside a value', '', '```', await section('ends.mjs', args, {}), '```');
  }
  return parts.join('\n');
}

function summary(m) {
  if (m.fail) return `FAILED: ${m.fail}`;
  if (m.p50 !== undefined) return `p50 ${m.p50.toFixed(0)} µs, p99 ${m.p99.toFixed(0)} µs`;
  let s = `${Math.round(m.rate).toLocaleString('en-US')} values/s, ${m.cpuPerValue.toFixed(2)} µs CPU/value`;
  if (m.cpuProducer !== undefined) s += ` (producer ${m.cpuProducer.toFixed(2)}, consumer ${m.cpuConsumer.toFixed(2)})`;
  if (m.serverRss !== undefined) s += `, ΔRSS ${m.serverRss.toFixed(1)}/${m.clientRss.toFixed(1)} MiB`;
  if (m.spread !== undefined) s += `, spread ±${m.spread.toFixed(1)} % [${m.counts.join(' ')}]`;
  if (m.lost) s += `, LOST ${m.lost}`;
  return s;
}

/** BENCH_RENDER=RESULTS.json: write RESULTS.md and the chart again from a saved run (after the report changed). */
function renderOnly(file) {
  const { meta, med, notes } = JSON.parse(fs.readFileSync(file, 'utf8'));
  const ids = Object.keys(med);
  const sys = SYSTEMS.filter((s) => ids.includes(s.id));
  const scs = Object.keys(meta.scenarios);
  const md = renderMarkdown({ meta, systems: sys, scenarios: scs, med, notes, svgName: 'results.svg' });
  fs.writeFileSync(path.join(OUT_DIR, 'RESULTS.md'), md);
  fs.writeFileSync(path.join(OUT_DIR, 'results.svg'), renderSvg({ systems: sys, med, meta }));
}

const SECTIONS = (process.env.BENCH_SECTIONS ?? 'main,nats,ends').split(',').map((x) => x.trim());
if (process.env.BENCH_RENDER) renderOnly(process.env.BENCH_RENDER);
else {
  if (SECTIONS.includes('main')) await main();
  const more = await sections(SECTIONS);
  if (more) {
    console.log(`\n${more}`);
    const file = path.join(OUT_DIR, `${RESULTS_NAME}.md`);
    if (SECTIONS.includes('main')) fs.appendFileSync(file, `\n${more}\n`);
  }
}
process.exit(0); // nothing of the run may keep the orchestrator alive (the in-process latency proxy included)
