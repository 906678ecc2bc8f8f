#!/usr/bin/env node
// Bundles rx-netchan for the browser with esbuild (minified, tree-shaken, as an
// app bundler would) and fails if it pulls in any Node built-in (`node:*`, `fs`,
// `net`, `buffer`, …) or refers to a Node global. Prints, minified and
// minified+gzipped:
//
//  - a page that imports one channel over WebSocket (`Importer.connect('ws://…')`
//    and `importChannel`): what such an app ships, broken down by package
//    (rx-netchan, rxjs, @msgpack/msgpack, tslib) and by rx-netchan module;
//  - the whole root entry (every export kept), with and without its dependencies.
//
//   node scripts/check-browser-bundle.mjs [entry]          (default: src/index.ts)
//   node scripts/check-browser-bundle.mjs --budget 16000   (fail when the page is over that many gzipped bytes)
import { builtinModules } from 'node:module';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { dirname, relative, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const budgetAt = args.indexOf('--budget');
const budget = budgetAt >= 0 ? Number(args.splice(budgetAt, 2)[1]) : null;
const entry = resolve(root, args[0] ?? 'src/index.ts');
const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The page: one imported channel over WebSocket, through the root entry only. */
const PAGE = `
import { Importer, importChannel } from ${JSON.stringify(entry)};
const importer = Importer.connect('ws://example.com/netchan');
importChannel(importer, 'jobs', 'recv').subscribe((v) => console.log(v));
`;

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

async function bundle(input, external = []) {
  const found = [];
  const result = await build({
    ...input,
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    treeShaking: true,
    metafile: true,
    external,
    logLevel: 'silent',
    plugins: [noNodeBuiltins(found)],
  });
  const code = result.outputFiles[0].contents;
  const inputs = Object.values(result.metafile.outputs)[0].inputs;
  return { found, inputs, min: code.length, gz: gzipSync(code, { level: 9 }).length, text: new TextDecoder().decode(code) };
}

/** The package a bundled file belongs to: its node_modules package, or rx-netchan. */
function packageOf(file) {
  const i = file.lastIndexOf('node_modules/');
  if (i < 0) return 'rx-netchan';
  const parts = file.slice(i + 'node_modules/'.length).split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** Minified bytes per package, and each package's share of the gzipped total (in proportion to its minified bytes). */
function breakdown(b) {
  const by = new Map();
  for (const [file, info] of Object.entries(b.inputs)) by.set(packageOf(file), (by.get(packageOf(file)) ?? 0) + info.bytesInOutput);
  const total = [...by.values()].reduce((a, n) => a + n, 0) || 1;
  return [...by].sort((x, y) => y[1] - x[1]).map(([pkg, n]) => ({ pkg, min: n, gz: Math.round((b.gz * n) / total) }));
}

const kb = (n) => `${(n / 1000).toFixed(1)} kB`;
const page = await bundle({ stdin: { contents: PAGE, resolveDir: root, sourcefile: 'page.js', loader: 'js' } });
const full = await bundle({ entryPoints: [entry] });
const own = await bundle({ entryPoints: [entry] }, ['rxjs', 'rxjs/*', '@msgpack/msgpack']);
const problems = [...new Set([...page.found, ...full.found, ...own.found])];
// Globals a browser does not have (no polyfills): a bare reference would throw at run time.
for (const g of ['Buffer', 'require', '__dirname', 'setImmediate']) {
  const re = new RegExp(`(?<![\\w$.])${g}(?![\\w$])`);
  if (re.test(own.text)) problems.push(`reference to the Node global \`${g}\``);
}
if (problems.length > 0) {
  console.error(`check-browser-bundle: ${relative(root, entry)} is not browser-safe:`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
console.log(`check-browser-bundle: ${relative(root, entry)} bundles for the browser with no Node built-ins`);
console.log('');
console.log(`A page importing one channel over WebSocket: ${kb(page.min)} minified, ${kb(page.gz)} minified+gzipped`);
for (const { pkg, min, gz } of breakdown(page)) console.log(`  ${pkg.padEnd(18)} ${kb(min).padStart(9)} minified  ~${kb(gz).padStart(8)} of the gzipped total`);
const modules = Object.entries(page.inputs)
  .filter(([f]) => packageOf(f) === 'rx-netchan')
  .sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput);
console.log(`  rx-netchan modules, largest first (minified bytes): ${modules.map(([f, i]) => `${f.replace(/^.*?src\//, '')} ${i.bytesInOutput}`).join(', ')}`);
console.log('');
console.log(`The whole root entry (every export), with rxjs + @msgpack/msgpack: ${kb(full.min)} minified, ${kb(full.gz)} minified+gzipped`);
console.log(`rx-netchan alone:                                             ${kb(own.min)} minified, ${kb(own.gz)} minified+gzipped`);
if (budget !== null && page.gz > budget) {
  console.error(`check-browser-bundle: the page is ${page.gz} bytes gzipped, over the budget of ${budget}`);
  process.exit(1);
}
