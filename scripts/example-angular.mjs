#!/usr/bin/env node
// npm run example:angular: builds the library, gives examples/angular a fresh
// copy of it, and builds the app. The example depends on "file:../.." with
// install-links (a copy, so the app gets a single rxjs); npm keeps an existing
// copy while the version is unchanged, so the copy is removed first and checked
// against dist/ after the install.
//   then: npm run example:angular:serve   and open http://127.0.0.1:4300/
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const app = join(root, 'examples', 'angular');
const npm = (args, cwd) => execFileSync('npm', args, { cwd, stdio: 'inherit' });
const started = Date.now();

console.log('example:angular: building the library');
npm(['run', 'build', '--silent'], root);

console.log('example:angular: installing examples/angular with a fresh copy of the library');
rmSync(join(app, 'node_modules', 'rx-netchan'), { recursive: true, force: true });
npm(['install', '--no-audit', '--no-fund'], app);
for (const f of ['dist/index.js', 'dist/index.d.ts', 'package.json']) {
  const built = readFileSync(join(root, f));
  const copied = readFileSync(join(app, 'node_modules', 'rx-netchan', f));
  if (!built.equals(copied)) {
    console.error(`example:angular: examples/angular/node_modules/rx-netchan/${f} differs from the library's ${f}`);
    process.exit(1);
  }
}

console.log('example:angular: building the app');
npm(['run', 'build'], app);
console.log(`example:angular: done in ${((Date.now() - started) / 1000).toFixed(0)} s. Serve it with \`npm run example:angular:serve\`, then open http://127.0.0.1:4300/`);
