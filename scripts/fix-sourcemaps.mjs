#!/usr/bin/env node
// Runs after tsup (npm run build): rewrites the absolute paths tsup's CommonJS
// step leaves in dist/*.cjs.map ("file" and the first of "sources": the
// intermediate build file, e.g. /home/me/rx-netchan/dist/index.cjs) as paths
// relative to the map, so the published maps do not carry the build machine's
// directories. scripts/check-package.mjs fails if any absolute path remains.
//
//   node scripts/fix-sourcemaps.mjs [dir] [--quiet]    (default: dist)
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const quiet = args.includes('--quiet');
const dir = resolve(root, args.find((a) => !a.startsWith('--')) ?? 'dist');
const posix = (p) => p.split(sep).join('/');

let fixed = 0;
for (const name of readdirSync(dir).filter((f) => f.endsWith('.map'))) {
  const file = join(dir, name);
  const map = JSON.parse(readFileSync(file, 'utf8'));
  let changed = false;
  const rel = (p) => {
    const local = p.startsWith('file://') ? fileURLToPath(p) : p;
    if (!isAbsolute(local)) return p;
    changed = true;
    return posix(relative(dir, local)) || basename(local);
  };
  if (typeof map.file === 'string') map.file = rel(map.file);
  if (typeof map.sourceRoot === 'string' && map.sourceRoot !== '') map.sourceRoot = rel(map.sourceRoot);
  if (Array.isArray(map.sources)) map.sources = map.sources.map((s) => (typeof s === 'string' ? rel(s) : s));
  if (changed) {
    writeFileSync(file, JSON.stringify(map));
    fixed++;
  }
}
if (!quiet) console.log(`fix-sourcemaps: ${fixed} map(s) in ${posix(relative(root, dir)) || '.'} had absolute paths, now relative`);
