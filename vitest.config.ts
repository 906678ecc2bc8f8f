import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (f: string) => fileURLToPath(new URL(`./src/${f}`, import.meta.url));

export default defineConfig({
  resolve: {
    // So README snippets and examples written against the package run against src/.
    alias: [
      { find: /^rx-netchan\/node$/, replacement: src('node.ts') },
      { find: /^rx-netchan\/testing$/, replacement: src('testing.ts') },
      { find: /^rx-netchan\/nats$/, replacement: src('nats.ts') },
      { find: /^rx-netchan$/, replacement: src('index.ts') },
    ],
  },
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/nats/**'] } },
      // Real nats-server processes (a 3-node cluster's failover alone waits out 2.9's 4-9 s
      // raft election): their own project, so `vitest run --project unit` stays quick.
      { extends: true, test: { name: 'nats', include: ['test/nats/**/*.test.ts'] } },
      // Marble specs use only virtual time and a fresh TestScheduler each: no need
      // for a fresh module graph per file, which is most of their wall time.
      { extends: true, test: { name: 'marbles', include: ['marbles/**/*.test.ts'], isolate: false } },
    ],
  },
});
