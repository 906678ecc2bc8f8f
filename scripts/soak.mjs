// npm run soak: streams values both ways between an Exporter and an Importer
// (reconnect on) through the in-process fault proxy, cutting the connection
// (a reset, both ways) at random moments, over TCP and over WebSocket. Checks
// every value arrives exactly once and in order, and that memory stays flat.
//
//   node scripts/soak.mjs [--values 1000000] [--cuts 20] [--transports tcp,ws]
//
// Exits non-zero on any loss, repeat, reordering, error or leak of memory.
import { parseArgs } from 'node:util';
import { Exporter, Importer, exportChannel, importChannel, feed } from '../dist/index.js';
import { FaultProxy } from '../dist/node.js';

const { values: args } = parseArgs({
  options: {
    values: { type: 'string', default: '1000000' },
    cuts: { type: 'string', default: '20' },
    transports: { type: 'string', default: 'tcp,ws' },
    seed: { type: 'string', default: String(Date.now() % 100000) },
  },
});
const N = Number(args.values);
const CUTS = Number(args.cuts);
let seed = Number(args.seed);
const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;

async function soak(transport) {
  const exporter = new Exporter({ resumeGrace: 30_000 });
  const down = exportChannel(exporter, 'down', 'send');
  const up = exportChannel(exporter, 'up', 'recv');
  const { url } = await exporter.listen(transport === 'tcp' ? 'tcp://127.0.0.1:0' : 'ws://127.0.0.1:0/soak');
  const proxy = await FaultProxy.start(url);
  const importer = Importer.connect(proxy.url(transport === 'tcp' ? 'tcp' : 'ws', transport === 'tcp' ? '' : '/soak'), {
    reconnect: { initialDelay: 5, maxDelay: 100, jitter: 0.5 },
  });
  const problems = [];
  const stats = { down: 0, up: 0, resumed: 0, newSession: 0, drops: 0 };
  // A cut each time the slower direction passes another 1/(CUTS+1) of the way, at a random
  // point in that stretch: checked on every value (a grown window can carry a whole stretch
  // between two timer ticks), and never again before the last cut's connection came back.
  let cuts = 0;
  let awaitingReconnect = false;
  const marks = Array.from({ length: CUTS }, (_, k) => Math.floor(((k + 0.2 + 0.6 * random()) * N) / (CUTS + 1)));
  const maybeCut = () => {
    if (cuts < CUTS && !awaitingReconnect && importer.state === 'open' && Math.min(stats.down, stats.up) >= marks[cuts]) {
      cuts++;
      awaitingReconnect = true;
      proxy.resetAll();
    }
  };
  importer.reconnects$.subscribe((e) => {
    if (e.type === 'resumed') stats.resumed++;
    else stats.newSession++;
    awaitingReconnect = false;
    maybeCut();
  });
  importer.errors$.subscribe((e) => (e.code === 'ECLOSED' ? stats.drops++ : problems.push(`importer: ${e.code} ${e.message}`)));
  exporter.errors$.subscribe((e) => {
    if (e.code !== 'ECLOSED' && e.code !== 'ETIMEDOUT') problems.push(`exporter: ${e.code} ${e.message}`);
  });

  const t0 = performance.now();
  const done = { down: 0, up: 0 };
  const finished = new Promise((resolve) => {
    const check = (dir) => {
      done[dir] = performance.now() - t0;
      if (done.down && done.up) resolve();
    };
    importChannel(importer, 'down', 'recv').subscribe({
      next: (v) => {
        if (v !== stats.down) problems.push(`down: got ${v}, expected ${stats.down}`);
        stats.down = v + 1;
        if (stats.down === N) check('down');
        maybeCut();
      },
      error: (e) => problems.push(`down errored: ${e.code} ${e.message}`),
    });
    up.subscribe({
      next: (v) => {
        if (v !== stats.up) problems.push(`up: got ${v}, expected ${stats.up}`);
        stats.up = v + 1;
        if (stats.up === N) check('up');
        maybeCut();
      },
    });
  });
  const seq = function* () { for (let i = 0; i < N; i++) yield i; };
  feed(down, seq()).subscribe({ error: (e) => problems.push(`feed down: ${e.message}`) });
  const send = importChannel(importer, 'up', 'send');
  feed(send, seq()).subscribe({ error: (e) => problems.push(`feed up: ${e.message}`) });

  const rss = [];
  const sampler = setInterval(() => rss.push(process.memoryUsage().rss), 200);
  const deadline = setTimeout(() => problems.push(`not finished after 300 s (down ${stats.down}, up ${stats.up})`), 300_000);
  await Promise.race([finished, new Promise((r) => deadline.ref() && setTimeout(r, 300_000).unref())]);
  clearTimeout(deadline);
  clearInterval(sampler);
  const drained = await new Promise((resolve) => {
    let n = 0;
    const ok = () => ++n === 2 && resolve(true);
    exporter.drain(10_000).subscribe({ complete: ok, error: (e) => (problems.push(`exporter drain: ${e.message}`), resolve(false)) });
    importer.drain(10_000).subscribe({ complete: ok, error: (e) => (problems.push(`importer drain: ${e.message}`), resolve(false)) });
  });
  await importer.close();
  await exporter.close();
  await proxy.close();
  const half = rss.slice(Math.floor(rss.length / 2));
  const spread = half.length ? Math.max(...half) - Math.min(...half) : 0;
  if (stats.newSession > 0) problems.push(`${stats.newSession} reconnection(s) got a new session instead of resuming`);
  if (cuts < CUTS) problems.push(`only ${cuts} of ${CUTS} cuts happened`);
  if (spread > 128 * 1048576) problems.push(`RSS spread ${mib(spread)} in the second half: not flat`);
  return {
    transport,
    values: N,
    cuts,
    resumed: stats.resumed,
    drops: stats.drops,
    downPerSec: Math.round(N / (done.down / 1000)),
    upPerSec: Math.round(N / (done.up / 1000)),
    seconds: (Math.max(done.down, done.up) / 1000).toFixed(1),
    rssPeak: mib(Math.max(...rss)),
    rssSpread: mib(spread),
    drained,
    problems,
  };
}

let failed = false;
console.log(`soak: ${N} values each way, ${CUTS} cuts, seed ${args.seed}`);
for (const t of args.transports.split(',')) {
  const r = await soak(t);
  const { problems, ...figures } = r;
  console.log(JSON.stringify(figures));
  if (problems.length > 0) {
    failed = true;
    for (const p of problems.slice(0, 20)) console.error(`  ${t}: ${p}`);
    if (problems.length > 20) console.error(`  … ${problems.length - 20} more`);
  }
}
console.log(failed ? 'soak: FAILED' : 'soak: every value exactly once and in order, both ways');
process.exit(failed ? 1 : 0);
