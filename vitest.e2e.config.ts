import { defineConfig } from 'vitest/config';

// The browser suite: `npm run test:e2e`. Not part of `npm test` (see vitest.config.ts).
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.test.ts'],
    globalSetup: ['e2e/globalSetup.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});
