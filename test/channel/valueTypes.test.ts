// The values MessagePack has no type for cross every transport as themselves
// (README "What crosses"): Map, Set, BigInt, Error; undefined properties are left out.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportChannel, importChannel, isNetchanError, NetchanError } from '../../src/index.js';
import { record } from '../helpers/async.js';
import { openPair, TRANSPORTS, type TransportPair } from '../helpers/transports.js';

interface Rich {
  readonly m: Map<string, Set<bigint>>;
  readonly err: Error & { code?: string };
  readonly opt?: string;
  readonly list: unknown[];
}

const sample = (): Rich => ({
  m: new Map([['primes', new Set([2n, 3n, 2n ** 70n])]]),
  err: new NetchanError('ETIMEDOUT', 'took too long', { cause: new RangeError('deadline') }),
  opt: undefined,
  list: [1, undefined, 'x'],
});

describe.each(TRANSPORTS)('value types over %s', (transport) => {
  let p: TransportPair;
  beforeEach(async () => {
    p = await openPair(transport);
  });
  afterEach(async () => {
    await p.close();
  });

  for (const direction of ['exporter -> importer', 'importer -> exporter'] as const) {
    it(`Map, Set, BigInt and Error arrive as themselves; undefined is left out of objects: ${direction}`, async () => {
      const [ch, got] =
        direction === 'exporter -> importer'
          ? [exportChannel<Rich>(p.exporter, 'rich', 'send'), null]
          : [importChannel<Rich>(p.importer, 'rich', 'send'), record(exportChannel<Rich>(p.exporter, 'rich', 'recv'))];
      const received = got ?? record(importChannel<Rich>(p.importer, 'rich', 'recv'));
      ch.next(sample());
      ch.complete();
      await received.end(10_000);
      expect(received.error).toBeUndefined();
      const [v] = received.values;
      expect(v!.m).toBeInstanceOf(Map);
      expect(v!.m.get('primes')).toBeInstanceOf(Set);
      expect([...v!.m.get('primes')!]).toEqual([2n, 3n, 2n ** 70n]);
      expect(v!.err).toBeInstanceOf(Error);
      expect(isNetchanError(v!.err)).toBe(true);
      expect(v!.err).toMatchObject({ name: 'NetchanError', code: 'ETIMEDOUT', message: 'took too long' });
      expect(v!.err.cause).toBeInstanceOf(RangeError);
      expect('opt' in v!).toBe(false);
      expect(v!.list).toEqual([1, null, 'x']);
    });
  }
});
