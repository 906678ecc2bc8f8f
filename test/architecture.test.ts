// The layering of src/, held by a test: each folder imports only from the
// folders below it, so a newcomer can read the engine bottom-up and no cycle
// creeps back in (channel and operators once imported each other).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../src/', import.meta.url).pathname;

/** What each folder may import, besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  errors: [],
  observe: [],
  protocol: ['errors', 'util'],
  transport: ['errors', 'protocol', 'util'],
  channel: ['errors', 'protocol', 'util', 'observe'],
  session: ['errors', 'protocol', 'util', 'channel'],
  link: ['errors', 'protocol', 'util', 'transport', 'session'],
  operators: ['errors', 'util', 'channel'],
  ends: ['errors', 'protocol', 'util', 'channel', 'session'],
  endpoint: ['errors', 'protocol', 'util', 'transport', 'channel', 'session', 'link', 'operators', 'ends', 'observe'],
  node: ['errors', 'protocol', 'util', 'transport', 'channel', 'observe'],
  nats: ['errors', 'protocol', 'util', 'channel', 'session', 'endpoint', 'transport'],
  otel: ['endpoint', 'observe'],
  cli: ['errors', 'util', 'protocol', 'endpoint', 'operators'],
  testing: ['errors', 'protocol', 'util', 'transport', 'channel', 'endpoint'],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('src/ layering', () => {
  const offences: string[] = [];
  for (const file of files(SRC)) {
    const rel = relative(SRC, file);
    const folder = rel.includes('/') ? rel.split('/')[0]! : null;
    if (folder === null || !(folder in ALLOWED)) continue;
    for (const m of readFileSync(file, 'utf8').matchAll(/from '\.\.\/([a-z]+)\//g)) {
      const to = m[1]!;
      if (!ALLOWED[folder]!.includes(to)) offences.push(`${rel} imports ../${to}/`);
    }
  }

  it('every folder imports only from the folders below it', () => {
    expect(offences).toEqual([]);
  });

  it('every folder of src/ is in the table', () => {
    const folders = readdirSync(SRC).filter((f) => statSync(join(SRC, f)).isDirectory());
    expect(folders.filter((f) => !(f in ALLOWED))).toEqual([]);
  });
});
