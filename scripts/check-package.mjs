#!/usr/bin/env node
// npm run check:package: installs the package the way a user gets it and uses it.
//
//  1. `npm pack` (which runs `prepare`, i.e. the build) into a temporary directory;
//     checks the tarball's files, and that no sourcemap carries an absolute path.
//  2. A scratch project there installs the tarball plus rxjs (and @types/node).
//  3. Runs the README's quick start as written (ESM), and a CommonJS `require`
//     of all three entry points that moves a value over a memory pipe.
//  4. Type-checks a strict consumer (`strict`, `module`/`moduleResolution`
//     `nodenext`, `skipLibCheck: false`) of all three entry points, ESM and CJS,
//     and a browser consumer (no @types/node) of the root and testing entries.
//
// The temporary directory is removed at the end, on failure too.
//   node scripts/check-package.mjs [--keep]   (--keep: leave the directory for a look)
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const keep = process.argv.includes('--keep');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const started = Date.now();
const tmp = mkdtempSync(join(tmpdir(), 'rx-netchan-package-'));

/** Runs a command, output shown only when it fails (npm is chatty). */
function run(cmd, args, cwd, { timeout = 180_000, env } = {}) {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed in ${cwd}:\n${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
  }
}

function step(name) {
  console.log(`check-package: ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

/** The README's quick start, found as test/readme.test.ts finds it. */
function quickStart() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.search(/^Save as `quickstart\.mjs`/m);
  const block = start >= 0 ? readme.slice(start).match(/```js\n([\s\S]*?)```/) : null;
  if (!block) throw new Error('README.md: no ```js block after "Save as `quickstart.mjs`"');
  return block[1];
}

function checkTarball(dir) {
  const files = [];
  const walk = (d, rel) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else files.push(`${rel}${e.name}`);
    }
  };
  walk(dir, '');
  const need = ['package.json', 'README.md', 'LICENSE'];
  for (const entry of ['index', 'node', 'testing', 'otel', 'cli', 'nats']) for (const ext of ['.js', '.cjs', '.d.ts', '.d.cts', '.js.map', '.cjs.map']) need.push(`dist/${entry}${ext}`);
  const missing = need.filter((f) => !files.includes(f));
  if (missing.length > 0) throw new Error(`the tarball lacks ${missing.join(', ')}`);
  const stray = files.filter((f) => /^(src|test|marbles|e2e|bench|scripts|examples|demo)\//.test(f));
  if (stray.length > 0) throw new Error(`the tarball holds files users do not need: ${stray.slice(0, 5).join(', ')}`);
  const problems = [];
  for (const f of files.filter((x) => x.endsWith('.map'))) {
    const text = readFileSync(join(dir, f), 'utf8');
    const map = JSON.parse(text);
    const paths = [map.file, map.sourceRoot, ...(map.sources ?? [])].filter((p) => typeof p === 'string' && p !== '');
    for (const p of paths) if (isAbsolute(p) || /^[A-Za-z]:[\\/]|^file:/.test(p)) problems.push(`${f}: ${p}`);
    if (text.includes(root)) problems.push(`${f}: mentions the build directory ${root}`);
  }
  if (problems.length > 0) throw new Error(`sourcemaps with absolute paths:\n  ${problems.join('\n  ')}`);
  return files.length;
}

const consumerTs = `// A strict ESM consumer of all three entry points (type-checked only).
import { Exporter, Importer, NetchanError, drain, exportChannel, importChannel, isNetchanError, memoryPipe, type DrainTarget, type EndpointConfig, type NetchanErrorCode } from 'rx-netchan';
import { dialTcp, listenTcp, type WsListenConfig } from 'rx-netchan/node';
import { observableMatcher, normalizeErrors, virtualNetwork, virtualPipe } from 'rx-netchan/testing';
import { instrument } from 'rx-netchan/otel';
import { TestScheduler } from 'rxjs/testing';
import { from, tap } from 'rxjs';

const config: EndpointConfig = {
  maxFrameBytes: 1 << 20,
  extensions: [{ type: 1, encode: (v) => (v instanceof URL ? new TextEncoder().encode(v.href) : null), decode: (d) => new URL(new TextDecoder().decode(d)) }],
};
const exporter = new Exporter(config);
const jobs = exportChannel<{ n: number }>(exporter, 'jobs', 'send');
const target: DrainTarget = jobs;
from([{ n: 1 }]).pipe(tap((j) => jobs.next(j)), drain(target, { timeout: 1_000 })).subscribe();
const [a, b] = memoryPipe();
exporter.serveConnection(a);
const importer = new Importer(b);
importChannel<{ n: number }>(importer, 'jobs', 'recv', { size: 4 }).subscribe((j) => j.n.toFixed());
const code: NetchanErrorCode = 'EINVAL';
const e: unknown = new NetchanError(code, 'x');
if (isNetchanError(e)) e.code satisfies NetchanErrorCode;
const ws: WsListenConfig = { wsOptions: { verifyClient: (info) => info.origin === 'https://example.com' }, closeTimeout: 1_000 };
void ws;
void dialTcp;
void listenTcp;
new TestScheduler(observableMatcher).run(() => virtualNetwork({ latency: 1 }).close());
void virtualPipe;
void normalizeErrors;
const stop: () => void = instrument(exporter);
stop();
`;

const consumerCts = `// A strict CommonJS consumer of all three entry points (type-checked only).
import netchan = require('rx-netchan');
import node = require('rx-netchan/node');
import testing = require('rx-netchan/testing');

const exporter: netchan.Exporter = new netchan.Exporter();
const conn: netchan.Connection = node.dialTcp(new URL('tcp://127.0.0.1:1'));
const [x, y] = testing.virtualPipe();
exporter.serveConnection(x);
void conn;
void y;
`;

const browserTs = `// A browser consumer: the root and testing entries type-check without @types/node.
import { Importer, importChannel } from 'rx-netchan';
import { observableMatcher, virtualNetwork } from 'rx-netchan/testing';

const importer = Importer.connect(\`ws://\${location.host}/netchan\`);
importChannel<number>(importer, 'numbers', 'recv').subscribe((n) => document.title = String(n));
void observableMatcher;
void virtualNetwork;
`;

const requireCheck = `// CommonJS: require() of every entry point, and a value over a memory pipe.
const { Exporter, Importer, exportChannel, importChannel, memoryPipe } = require('rx-netchan');
const node = require('rx-netchan/node');
const testing = require('rx-netchan/testing');
if (typeof node.dialTcp !== 'function' || typeof testing.virtualPipe !== 'function' || typeof testing.observableMatcher !== 'function') throw new Error('missing exports');
const exporter = new Exporter();
exportChannel(exporter, 'jobs', 'send').next({ n: 42, m: new Map([['k', 1n]]) });
const [a, b] = memoryPipe();
exporter.serveConnection(a);
const importer = new Importer(b);
importChannel(importer, 'jobs', 'recv', { count: 1 }).subscribe({
  next: (v) => console.log(JSON.stringify({ n: v.n, k: String(v.m.get('k')) })),
  complete: () => importer.close().then(() => exporter.close()),
});
`;

function tsconfig(extra) {
  return JSON.stringify(
    {
      compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', skipLibCheck: false, noEmit: true, ...extra.compilerOptions },
      files: extra.files,
    },
    null,
    2,
  );
}

let failed = false;
try {
  step('npm pack (runs prepare: the build)');
  // Not --json: the build's own output goes to the same stdout.
  run('npm', ['pack', '--pack-destination', tmp], root, { env: { npm_config_loglevel: 'error' } });
  const name = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (!name) throw new Error('npm pack wrote no tarball');
  const tarball = join(tmp, name);

  step('tarball contents and sourcemaps');
  const unpacked = join(tmp, 'unpacked');
  mkdirSync(unpacked);
  run('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1'], tmp);
  const count = checkTarball(unpacked);

  step(`scratch project: npm install the tarball (${count} files) + rxjs`);
  const app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }, null, 2));
  const rxjs = pkg.peerDependencies.rxjs;
  const typesNode = pkg.devDependencies['@types/node'];
  const otel = pkg.devDependencies['@opentelemetry/api'];
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball, `rxjs@${rxjs}`, `@types/node@${typesNode}`, `@opentelemetry/api@${otel}`], app);

  step('the command line: npx rx-netchan --version');
  const version = run('npx', ['--no-install', 'rx-netchan', '--version'], app, { timeout: 30_000 });
  if (version.trim() !== pkg.version) throw new Error(`npx rx-netchan --version printed ${JSON.stringify(version)}, not ${pkg.version}`);

  step('README quick start (ESM)');
  writeFileSync(join(app, 'quickstart.mjs'), quickStart());
  const out = run(process.execPath, ['quickstart.mjs'], app, { timeout: 30_000 });
  if (out.trim() !== '[ 1, 4, 9, 16, 25 ]') throw new Error(`the quick start printed ${JSON.stringify(out)}, not [ 1, 4, 9, 16, 25 ]`);

  step('require() of every entry point (CommonJS)');
  writeFileSync(join(app, 'check.cjs'), requireCheck);
  const cjs = run(process.execPath, ['check.cjs'], app, { timeout: 30_000 });
  if (cjs.trim() !== '{"n":42,"k":"1"}') throw new Error(`check.cjs printed ${JSON.stringify(cjs)}`);

  step('strict consumer type-check: nodenext, skipLibCheck false (ESM + CJS), and a browser consumer without @types/node');
  writeFileSync(join(app, 'consumer.ts'), consumerTs);
  writeFileSync(join(app, 'consumer.cts'), consumerCts);
  writeFileSync(join(app, 'browser.ts'), browserTs);
  writeFileSync(join(app, 'tsconfig.json'), tsconfig({ compilerOptions: { types: ['node'] }, files: ['consumer.ts', 'consumer.cts'] }));
  writeFileSync(join(app, 'tsconfig.browser.json'), tsconfig({ compilerOptions: { types: [], lib: ['es2022', 'dom'] }, files: ['browser.ts'] }));
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], app);
  run(process.execPath, [tsc, '-p', 'tsconfig.browser.json'], app);

  step(`ok: ${name}, ${(statSync(tarball).size / 1024).toFixed(1)} KiB`);
} catch (e) {
  failed = true;
  console.error(`check-package: FAILED: ${e.message}`);
} finally {
  if (keep) console.log(`check-package: left ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
