#!/usr/bin/env node
// Bundles the root entry (rx-netchan) for the browser with esbuild and fails if
// it pulls in any Node built-in (`node:*`, `fs`, `net`, `buffer`, …). Prints the
// minified and minified+gzipped sizes: the whole bundle (rxjs and
// @msgpack/msgpack included, as an app that uses nothing else of rxjs would
// ship) and rx-netchan alone (its dependencies external).
//
//   node scripts/check-browser-bundle.mjs [entry]    (default: src/index.ts)
import { builtinModules } from 'node:module';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = resolve(root, process.argv[2] ?? 'src/index.ts');
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** Records every import of a Node built-in, with the file that asked for it. */
function noNodeBuiltins(found) {
  return {
    name: 'no-node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        const bare = args.path.split('/')[0];
        if (args.path.startsWith('node:') || builtins.has(args.path) || (builtins.has(bare) && !args.path.startsWith('.'))) {
          found.push(`${args.path} (imported by ${args.importer.replace(root + '/', '')})`);
          return { path: args.path, external: true };
        }
        return undefined;
      });
    },
  };
}

async function bundle(external) {
  const found = [];
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    treeShaking: true,
    external,
    logLevel: 'silent',
    plugins: [noNodeBuiltins(found)],
  });
  const code = result.outputFiles[0].contents;
  return { found, min: code.length, gz: gzipSync(code, { level: 9 }).length, text: new TextDecoder().decode(code) };
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const full = await bundle([]);
const own = await bundle(['rxjs', 'rxjs/*', '@msgpack/msgpack']);
const problems = [...new Set([...full.found, ...own.found])];
// Globals a browser does not have (no polyfills): a bare reference would throw at run time.
for (const g of ['Buffer', 'require', '__dirname', 'setImmediate']) {
  const re = new RegExp(`(?<![\\w$.])${g}(?![\\w$])`);
  if (re.test(own.text)) problems.push(`reference to the Node global \`${g}\``);
}
if (problems.length > 0) {
  console.error(`check-browser-bundle: ${entry.replace(root + '/', '')} is not browser-safe:`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
console.log(`check-browser-bundle: ${entry.replace(root + '/', '')} bundles for the browser with no Node built-ins`);
console.log(`  with rxjs + @msgpack/msgpack: ${kb(full.min)} minified, ${kb(full.gz)} minified+gzipped`);
console.log(`  rx-netchan alone:              ${kb(own.min)} minified, ${kb(own.gz)} minified+gzipped`);
