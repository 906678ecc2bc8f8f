import { copyFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { CHROMIUM_PATH } from './support/browser.js';
import { PAGE_DIR, REPO, RESULTS } from './support/paths.js';

/** Bundles the plain e2e page against the library's root entry, for the browser. */
export default async function setup(): Promise<void> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  await mkdir(PAGE_DIR, { recursive: true });
  await mkdir(RESULTS, { recursive: true });
  await build({
    entryPoints: [join(REPO, 'e2e/page/main.ts')],
    outfile: join(PAGE_DIR, 'main.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: true,
    alias: { 'rx-netchan': join(REPO, 'src/index.ts') },
    logLevel: 'warning',
  });
  await copyFile(join(REPO, 'e2e/page/index.html'), join(PAGE_DIR, 'index.html'));
}
