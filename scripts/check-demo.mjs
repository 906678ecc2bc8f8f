#!/usr/bin/env node
// npm run check:demo (CI, after the build): runs the two-process demo with a
// small count and checks that it succeeds, prints the 100 % line once, and
// that the demo, being an example, reads only the public API (no internals
// such as `dispatcher`, `session` or `_`-prefixed fields).
//   DEMO_TOTAL=5000 node scripts/check-demo.mjs
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const total = process.env.DEMO_TOTAL ?? '5000';
const problems = [];

const internals = /\.(dispatcher|session|sessions|inbound|outbound|writer|trackable|queue)\b|\._\w/;
for (const f of readdirSync(join(root, 'demo')).filter((x) => x.endsWith('.mjs'))) {
  readFileSync(join(root, 'demo', f), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (internals.test(line.replace(/\/\/.*$/, ''))) problems.push(`demo/${f}:${i + 1} reads an internal: ${line.trim()}`);
    });
}

const started = Date.now();
const r = spawnSync(process.execPath, [join(root, 'demo', 'run.mjs')], { cwd: root, encoding: 'utf8', env: { ...process.env, DEMO_TOTAL: total }, timeout: 120_000 });
const output = `${r.stdout}${r.stderr}`;
if (r.status !== 0) problems.push(`demo/run.mjs exited with ${r.status ?? r.signal}:\n${output}`);
const full = output.split(/\r|\n/).filter((l) => / 100% /.test(l));
if (full.length !== 1) problems.push(`the 100 % line was printed ${full.length} times:\n${full.join('\n')}`);
if (!/every result checked: yes/.test(output)) problems.push('the demo did not report "every result checked: yes"');

if (problems.length > 0) {
  console.error(`check-demo: FAILED\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-demo: ${total} values in ${((Date.now() - started) / 1000).toFixed(1)} s; the 100 % line once; public API only`);
