// `npm run fuzz`: bundles the fuzzer (test/fuzz/cli.ts, TypeScript) with
// esbuild and runs it; arguments pass through (see test/fuzz/cli.ts).
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = `${root}node_modules/.cache/rx-netchan-fuzz`;
mkdirSync(dir, { recursive: true });
const outfile = `${dir}/cli-${process.pid}.mjs`;
await build({
  entryPoints: [`${root}test/fuzz/cli.ts`],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outfile,
  logLevel: 'warning',
});
await import(pathToFileURL(outfile).href);
