import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it, vi } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const dir = new URL('./.readme-snippets/', import.meta.url);

/** The fenced block after the first line matching `after`. */
function blockAfter(after: RegExp, lang = 'js'): string {
  const start = readme.search(after);
  expect(start, `README section ${after}`).toBeGreaterThanOrEqual(0);
  const rest = readme.slice(start);
  const m = rest.match(new RegExp('```' + lang + '\\n([\\s\\S]*?)```'));
  expect(m, `code block after ${after}`).not.toBeNull();
  return m![1]!;
}

async function run(name: string, code: string): Promise<unknown[][]> {
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}.mjs`, dir);
  writeFileSync(file, code);
  const logs: unknown[][] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args));
  try {
    await import(/* @vite-ignore */ file.href);
  } finally {
    spy.mockRestore();
  }
  return logs;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README', () => {
  it('quick start runs as written and prints the squares', async () => {
    const logs = await run('quickstart', blockAfter(/^Save as `quickstart\.mjs`/m));
    expect(logs).toEqual([[[1, 4, 9, 16, 25]]]);
  });

  it('channels inside values: request/reply runs as written', async () => {
    const logs = await run('pairs', blockAfter(/`pairs\.mjs` and run `node pairs\.mjs`/m));
    expect(logs).toEqual([[49], [[3, 2, 1]]]);
  });

  it('marble example is the one marbles/readme.marbles.test.ts proves', () => {
    const shown = blockAfter(/^## Testing your code with marble diagrams/m, 'ts');
    const proven = readFileSync(new URL('../marbles/readme.marbles.test.ts', import.meta.url), 'utf8')
      .replace("'../src/index.js'", "'rx-netchan'")
      .replace("'../src/testing.js'", "'rx-netchan/testing'");
    expect(proven).toContain(shown.trim());
  });

  it('wire-diagram example is the one marbles/readmeWire.marbles.test.ts proves, whole (imports included)', () => {
    const shown = blockAfter(/^diagram of the wire:$/m, 'ts');
    const proven = readFileSync(new URL('../marbles/readmeWire.marbles.test.ts', import.meta.url), 'utf8')
      .replace("'../src/index.js'", "'rx-netchan'")
      .replace("'../src/testing.js'", "'rx-netchan/testing'");
    expect(shown).toMatch(/^import /);
    expect(proven.endsWith(shown)).toBe(true);
  });

  it('shows both commands', () => {
    expect(readme).toContain('npm install && npm run demo');
    expect(readme).toContain('npm install && npm test');
  });

  it('lists every error code in API.md and in NetchanErrorCode', () => {
    const source = readFileSync(new URL('../src/errors/NetchanError.ts', import.meta.url), 'utf8');
    const union = source.slice(source.indexOf('export type NetchanErrorCode'), source.indexOf(';', source.indexOf('export type NetchanErrorCode')));
    const declared = [...union.matchAll(/'(E[A-Z]+)'/g)].map((m) => m[1]!);
    expect(declared).toContain('EINVAL');
    for (const code of new Set(['ENOCHAN', 'EDIR', 'EEXIST', 'ETIMEDOUT', 'EPROTO', 'ETOOBIG', 'ECLOSED', 'EAUTH', ...declared])) {
      expect(readme).toMatch(new RegExp('\\| `' + code + '` \\|'));
    }
  });
});
