// node bench/profile.mjs [system=rx-tcp] [scenario=S1]
// Runs one benchmark case with every process under `node --cpu-prof`, then prints
// each process's top self-time functions, mapped through the library's source maps
// back to src/ files. Profiles land in bench/profiles/ (git-ignored).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const HERE = import.meta.dirname;
const system = process.argv[2] ?? 'rx-tcp';
const scenario = process.argv[3] ?? 'S1';
const TOP = Number(process.env.TOP ?? 25);
const dir = path.join(HERE, 'profiles', `${system}-${scenario}-${Date.now()}`);
fs.mkdirSync(dir, { recursive: true });

execFileSync(process.execPath, [path.join(HERE, 'run.mjs')], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, BENCH_SYSTEMS: system, BENCH_SCENARIOS: scenario, BENCH_REPS: '1', BENCH_S4_REPS: '1', BENCH_OUT: dir, BENCH_CPU_PROF_DIR: dir },
});

const maps = new Map();
function mapFor(url) {
  if (!url.startsWith('file://')) return null;
  if (maps.has(url)) return maps.get(url);
  let sm = null;
  try {
    const file = fileURLToPath(url);
    if (fs.existsSync(`${file}.map`)) sm = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')));
  } catch {}
  maps.set(url, sm);
  return sm;
}
function where(cf) {
  const sm = mapFor(cf.url);
  if (sm) {
    const e = sm.findEntry(cf.lineNumber, cf.columnNumber);
    if (e && e.originalSource) return `${e.originalSource.replace(/^.*?\/src\//, 'src/')}:${e.originalLine + 1}`;
  }
  if (!cf.url) return '(native)';
  return `${cf.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/bench\//, 'bench/')}:${cf.lineNumber + 1}`;
}

const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
const report = [];
for (const f of files.sort()) {
  const prof = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const pid = f.split('.')[3];
  const wfile = path.join(dir, `window-${pid}.json`);
  const win = fs.existsSync(wfile) ? JSON.parse(fs.readFileSync(wfile, 'utf8')) : { start: 0, end: Infinity, role: '?' };
  const self = new Map();
  let total = 0;
  let libSelf = 0;
  let t = prof.startTime;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0;
    t += dt;
    if (t < win.start || t > win.end) continue; // start-up and shutdown are not part of the run
    const n = byId.get(prof.samples[i]);
    const cf = n.callFrame;
    if (cf.functionName === '(idle)' || cf.functionName === '(program)') continue;
    total += dt;
    const key = `${cf.functionName || '(anonymous)'}  ${where(cf)}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    if (cf.url.includes('/rxnc-bench-')) libSelf += dt; // the library's own code (its dist/ snapshot)
  }
  const libTotal = libSelf;
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  const roleName = win.role === 'server' ? 'exporter / producer' : win.role === 'client' ? 'importer / consumer' : win.role;
  report.push(`### ${roleName} (${f}), measured window ${((win.end - win.start) / 1000).toFixed(0)} ms — busy ${(total / 1000).toFixed(0)} ms, of which rx-netchan's own code ${(100 * libTotal / total).toFixed(1)} % (self time, idle excluded)`, '', '| self ms | % | function  location |', '|---:|---:|---|');
  for (const [k, v] of rows) report.push(`| ${(v / 1000).toFixed(1)} | ${((100 * v) / total).toFixed(1)} | \`${k}\` |`);
  report.push('');
}
const text = report.join('\n');
fs.writeFileSync(path.join(dir, 'PROFILE.md'), text);
console.log(text);
console.log(`profiles in ${dir}`);
