import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (f: string) => fileURLToPath(new URL(`./src/${f}`, import.meta.url));

export default defineConfig({
  resolve: {
    // So README snippets and examples written against the package run against src/.
    alias: [
      { find: /^rx-netchan\/node$/, replacement: src('node.ts') },
      { find: /^rx-netchan\/testing$/, replacement: src('testing.ts') },
      { find: /^rx-netchan$/, replacement: src('index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'marbles/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
