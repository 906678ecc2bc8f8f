// drain()/sync() take an Exporter, an Importer or a 'send' channel, in their types
// and at run time: anything else fails at once with 'EINVAL', saying what it got.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { lastValueFrom, of, tap, toArray, type Observable } from 'rxjs';
import { Exporter, Importer, drain, exportChannel, importChannel, memoryPipe, sync, type DrainTarget, type NetchanError } from '../../src/index.js';

function pair() {
  const exporter = new Exporter();
  const [a, b] = memoryPipe();
  exporter.serveConnection(a);
  const importer = new Importer(b);
  return { exporter, importer, close: async () => { await importer.close(); await exporter.close(); } };
}

function thrown(f: () => unknown): NetchanError {
  try {
    f();
  } catch (e) {
    return e as NetchanError;
  }
  throw new Error('expected a throw');
}

describe('the target of drain and sync', () => {
  it('is typed: endpoints and send channels fit, Observables and plain objects do not', async () => {
    const { exporter, importer, close } = pair();
    expectTypeOf(exporter).toMatchTypeOf<DrainTarget>();
    expectTypeOf(importer).toMatchTypeOf<DrainTarget>();
    expectTypeOf(exportChannel<number>(exporter, 'out', 'send')).toMatchTypeOf<DrainTarget>();
    expectTypeOf(importChannel<number>(importer, 'in', 'send')).toMatchTypeOf<DrainTarget>();
    expectTypeOf<Observable<number>>().not.toMatchTypeOf<DrainTarget>();
    expectTypeOf<{ pending: number }>().not.toMatchTypeOf<DrainTarget>();
    // @ts-expect-error an import's Observable is not a drain target
    expect(() => drain(importChannel<number>(importer, 'out', 'recv'))).toThrow();
    await close();
  });

  it.each([
    ['an import (an Observable)', () => of(1), "got an Observable ('recv' channels and imports cannot be drained: drain the side that sends)"],
    ['a plain object', () => ({ pending: 0 }), 'got an object'],
    ['a class instance', () => new (class Queue {})(), 'got a Queue'],
    ['undefined', () => undefined, 'got undefined'],
    ['a string', () => 'jobs', 'got a string'],
  ])("%s: NetchanError 'EINVAL' at once, from drain and from sync", (_name, make, got) => {
    for (const [what, op] of [['drain', drain], ['sync', sync]] as const) {
      const err = thrown(() => op(make() as never));
      expect(err.name).toBe('NetchanError');
      expect(err.code).toBe('EINVAL');
      expect(err.message).toBe(`${what}: the target must be an Exporter, an Importer, or a 'send' channel from exportChannel/importChannel; ${got}`);
    }
  });

  it('a right target still drains', async () => {
    const { exporter, importer, close } = pair();
    const out = exportChannel<number>(exporter, 'out', 'send');
    importChannel<number>(importer, 'out', 'recv').subscribe();
    const passed = await lastValueFrom(of(1, 2).pipe(tap((v) => out.next(v)), drain(out, { timeout: 5_000 }), toArray()));
    expect(passed).toEqual([1, 2]);
    expect(out.pending).toBe(0);
    await close();
  });
});
