// One benchmark process: `node proc.mjs <json>` with an IPC channel to run.mjs.
// role 'server' = the exporter / producer side, role 'client' = an importer / consumer.
// Messages to the parent: ready, done, result, skip, fail.  From the parent: go, stop.
import fs from 'node:fs';
import path from 'node:path';
import { now, spin, percentile } from './lib/util.mjs';

const cfg = JSON.parse(process.argv[2]);
const { system, role, scenario, params } = cfg;
const send = (m) => process.send?.(m);
const HELLO = { hello: 1 };
const mod = await import(`./systems/${system}.mjs`);

const hardTimer = setTimeout(() => {
  send({ type: 'fail', error: `${role} timed out after ${cfg.timeoutMs} ms (${JSON.stringify(debug)})` });
  process.exit(3);
}, cfg.timeoutMs);
hardTimer.unref();

const debug = {};
const small = (i) => ({ i, s: 'hello-world', t: Date.now() });
const blob = new Uint8Array(64 * 1024);
for (let i = 0; i < blob.length; i++) blob[i] = (i * 31 + 7) & 0xff;
const makeValue = params.value === 'blob' ? () => blob : small;

async function produce(out, n) {
  let i = 0;
  while (i < n) {
    while (i < n && out.writable()) out.send(makeValue(i++));
    if (i < n) await out.waitWritable();
  }
}

let cpu0 = null;
let rssIdle = 0;
let result = {};
let hrStart = 0;
function startMeasuring() {
  rssIdle = process.memoryUsage.rss();
  cpu0 = process.cpuUsage();
  hrStart = Number(process.hrtime.bigint() / 1000n);
}
/** Under BENCH_CPU_PROF_DIR, note the measured window so profile.mjs can leave start-up out. */
function noteWindow() {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  if (!dir) return;
  const w = { role, system, scenario, start: hrStart, end: Number(process.hrtime.bigint() / 1000n) };
  fs.writeFileSync(path.join(dir, `window-${process.pid}.json`), JSON.stringify(w));
}
function finalResult() {
  const c = process.cpuUsage(cpu0 ?? undefined);
  return { ...result, cpuUs: c.user + c.system, rssIdle, maxRss: process.resourceUsage().maxRSS * 1024 };
}

let endpoint;
process.on('message', (m) => {
  if (m.type === 'stop') {
    send({ type: 'result', result: finalResult() });
    noteWindow();
    setTimeout(() => process.exit(0), 20);
    Promise.resolve(endpoint?.close()).catch(() => {});
  } else if (m.type === 'go') onGo?.(m);
});
let onGo = null;

try {
  if (role === 'server') await runServer();
  else await runClient();
} catch (err) {
  const msg = String(err?.stack ?? err);
  if (role === 'server' && cfg.skippable) send({ type: 'skip', note: String(err?.message ?? err) });
  else send({ type: 'fail', error: msg });
  setTimeout(() => process.exit(2), 20);
}

async function runServer() {
  const clients = params.clients ?? 1;
  let hellos = 0;
  let helloWake = null;
  let early = 0; // S5in: values that overtook the last hello (their client was already told to go)
  let handler = () => early++;
  endpoint = await mod.server({
    params,
    onMessage(v) {
      if (v && v.hello) {
        if (++hellos === clients) helloWake?.();
      } else handler(v);
    },
  });
  send({ type: 'ready', url: endpoint.url });
  if (hellos < clients) await new Promise((res) => (helloWake = res));
  startMeasuring();
  const out = endpoint.out;
  const t0 = now();
  result.t0 = t0;

  if (scenario === 'S3') {
    const rtts = [];
    let wake = null;
    handler = () => wake();
    const total = params.warmup + params.n;
    for (let i = 0; i < total; i++) {
      const t = performance.now();
      const got = new Promise((res) => (wake = res));
      if (!out.writable()) await out.waitWritable();
      out.send(small(i));
      await got;
      if (i >= params.warmup) rtts.push((performance.now() - t) * 1000);
    }
    rtts.sort((a, b) => a - b);
    result.p50 = percentile(rtts, 50);
    result.p90 = percentile(rtts, 90);
    result.p99 = percentile(rtts, 99);
    send({ type: 'done' });
  } else if (scenario === 'S5in') {
    let count = early;
    const n = params.n;
    await new Promise((res) => {
      handler = () => {
        debug.count = count + 1;
        if (++count === n) {
          result.tLast = now();
          res();
        }
      };
    });
    result.count = count;
    send({ type: 'done' });
  } else {
    handler = () => {};
    await produce(out, params.n);
    out.end();
    result.tProduced = now();
  }
}

async function runClient() {
  let count = 0;
  let tLast = 0;
  let endWake = null;
  let onMessage;
  let out;
  if (scenario === 'S3') onMessage = (v) => out.send(v);
  else if (scenario === 'S4') {
    const work = params.workUs;
    onMessage = () => {
      spin(work);
      count++;
      tLast = now();
    };
  } else
    onMessage = () => {
      count++;
      tLast = now();
    };
  endpoint = await mod.client({
    url: cfg.url,
    params,
    onMessage: (v) => onMessage(v),
    onEnd: () => endWake?.(),
  });
  out = endpoint.out;
  if (!out.writable()) await out.waitWritable();
  out.send(HELLO);
  startMeasuring();
  send({ type: 'ready' });

  if (scenario === 'S3') return; // echoes until stopped
  if (scenario === 'S5in') {
    await new Promise((res) => (onGo = res));
    await produce(out, params.perClient);
    return;
  }
  await new Promise((res) => (endWake = res));
  result.count = count;
  result.tLast = tLast;
  send({ type: 'done', count, tLast });
}
