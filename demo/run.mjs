// npm run demo: an exporter and an importer in two processes over TCP on loopback.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const TOTAL = Number(process.env.DEMO_TOTAL ?? 100_000);
const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;

function start(file, args = []) {
  const child = spawn(process.execPath, [here(file), ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DEMO_TOTAL: String(TOTAL) } });
  const events = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let ev;
    try { ev = JSON.parse(line); } catch { console.log(line); return; }
    if (ev.event === 'error') console.error(`${file}: ${ev.code} ${ev.message}`);
    events.push(ev);
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const next = async (name) => {
    for (;;) {
      const ev = events.find((e) => e.event === name);
      if (ev) return ev;
      const code = await Promise.race([new Promise((r) => waiters.push(r)).then(() => undefined), exited]);
      if (code !== undefined && !events.find((e) => e.event === name)) throw new Error(`${file} exited (${code}) before '${name}'`);
    }
  };
  return { child, next, exited };
}

const killer = setTimeout(() => { console.error('demo: timed out after 180 s'); process.exit(1); }, 180_000);
console.log(`rx-netchan demo: ${TOTAL.toLocaleString('en-US')} values, exporter and importer in separate processes over TCP\n`);
const exp = start('./exporter.mjs');
const { url, idleRss } = await exp.next('listening');
console.log(`exporter listening on ${url} (pid ${exp.child.pid}); importer connecting (window 64, slow stage 1 ms x 64)`);
console.log(`watch it from another terminal: npx rx-netchan stat ${url}\n`);
const imp = start('./importer.mjs', [url]);
const [e, i] = await Promise.all([exp.next('done'), imp.next('done')]);
const [ec, ic] = await Promise.all([exp.exited, imp.exited]);
clearTimeout(killer);

console.log(`
| | exporter | importer |
|---|---|---|
| values | ${e.received} results received | ${i.processed} processed |
| idle RSS | ${mib(e.idleRss)} | ${mib(i.idleRss)} |
| peak RSS | ${mib(e.peakRss)} | ${mib(i.peakRss)} |
| RSS spread, 2nd half | ${mib(e.tailSpread)} | ${mib(i.tailSpread)} |

round trips/s: ${e.perSecond.toLocaleString('en-US')} (${(e.elapsedMs / 1000).toFixed(2)} s for ${TOTAL.toLocaleString('en-US')})
drain('work') completed after ${(e.drainedMs / 1000).toFixed(2)} s; every result checked: ${e.ok ? 'yes' : 'NO'}
`);
const ok = e.ok && ec === 0 && ic === 0 && i.processed === TOTAL;
process.exit(ok ? 0 : 1);
