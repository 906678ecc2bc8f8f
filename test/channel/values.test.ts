// Values of every MessagePack type cross the wire both ways, on every transport.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportChannel, importChannel, type NetchanError } from '../../src/index.js';
import { completion, record } from '../helpers/async.js';
import { openPair, TRANSPORTS, type TransportPair } from '../helpers/transports.js';

const MiB = 1024 * 1024;

/** One value of each MessagePack family (nil, bool, int widths, float, str widths, bin, array, map, ext timestamp). */
function samples(): Array<[string, unknown]> {
  const big = new Uint8Array(MiB);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
  return [
    ['nil', null],
    ['true', true],
    ['false', false],
    ['positive fixint', 127],
    ['negative fixint', -32],
    ['uint8', 255],
    ['uint16', 65_535],
    ['uint32', 4_294_967_295],
    ['uint64 (safe)', Number.MAX_SAFE_INTEGER],
    ['int8', -128],
    ['int16', -32_768],
    ['int32', -2_147_483_648],
    ['int64 (safe)', Number.MIN_SAFE_INTEGER],
    ['float64', Math.PI],
    ['Infinity', Infinity],
    ['NaN', NaN],
    ['empty str', ''],
    ['fixstr unicode', 'héllo, 世界 🌍'],
    ['str16', 'x'.repeat(300)],
    ['str32', 'y'.repeat(70_000)],
    ['empty bin', new Uint8Array(0)],
    ['bin8', Uint8Array.from([0, 1, 2, 255])],
    ['bin 1 MiB', big],
    ['fixarray', [1, 'two', null, false]],
    ['array16', Array.from({ length: 20 }, (_, i) => i)],
    ['fixmap', { a: 1, b: 'c' }],
    ['nested', { list: [{ deep: { deeper: [1, [2, [3]]] } }], bin: Uint8Array.from([9]) }],
    ['map16', Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]))],
    ['Date (timestamp ext)', new Date('2024-02-29T12:34:56.789Z')],
    ['Date before 1970', new Date(-1_000_000_000_123)],
    ['Date far future (timestamp 96)', new Date('2500-01-01T00:00:00.001Z')],
  ];
}

/** toEqual, except byte arrays are compared as bytes (toEqual walks 1 MiB element by element, for seconds). */
function expectSame(back: unknown, v: unknown, name: string): void {
  if (v instanceof Date) expect(back, name).toBeInstanceOf(Date);
  if (v instanceof Uint8Array) {
    expect(back, name).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(back as Uint8Array, v), name).toBe(0);
    return;
  }
  expect(back, name).toEqual(v);
}

describe.each(TRANSPORTS)('values over %s', (transport) => {
  let p: TransportPair;
  beforeEach(async () => {
    p = await openPair(transport);
  });
  afterEach(async () => {
    await p.close();
  });

  it('every MessagePack type, Date and a 1 MiB Uint8Array included, arrives equal: exporter -> importer', async () => {
    const values = samples();
    const ch = exportChannel<unknown>(p.exporter, 'values', 'send');
    const got = record(importChannel<unknown>(p.importer, 'values', 'recv', { size: 4 }));
    for (const [, v] of values) ch.next(v);
    ch.complete();
    await got.end(10_000);
    expect(got.error).toBeUndefined();
    expect(got.values.length).toBe(values.length);
    values.forEach(([name, v], i) => expectSame(got.values[i], v, name));
  });

  it('every MessagePack type arrives equal: importer -> exporter', async () => {
    const values = samples();
    const got = record(exportChannel<unknown>(p.exporter, 'values', 'recv'));
    const ch = importChannel<unknown>(p.importer, 'values', 'send', { size: 4 });
    for (const [, v] of values) ch.next(v);
    ch.complete();
    await got.end(10_000);
    expect(got.values.length).toBe(values.length);
    values.forEach(([name, v], i) => expectSame(got.values[i], v, name));
  });

  it('the value is encoded at next(): later changes to the object do not travel', async () => {
    const ch = exportChannel<{ n: number }>(p.exporter, 'snap', 'send');
    const v = { n: 1 };
    ch.next(v);
    v.n = 2;
    const got = record(importChannel<{ n: number }>(p.importer, 'snap', 'recv', { count: 1 }));
    await got.end();
    expect(got.values).toEqual([{ n: 1 }]);
  });

  it("a value that cannot be encoded throws 'EINVAL' at next(), naming the field, and the channel keeps working", () => {
    const ch = exportChannel<unknown>(p.exporter, 'bad', 'send');
    expect(() => ch.next({ items: [1, 2, { cb: () => 1 }] })).toThrow(
      expect.objectContaining({ name: 'NetchanError', code: 'EINVAL', message: 'channel "bad": value.items[2].cb: a function cannot be encoded' }),
    );
    expect(() => ch.next(Symbol('s'))).toThrow(expect.objectContaining({ code: 'EINVAL', message: 'channel "bad": value: a symbol cannot be encoded' }));
    expect(ch.pending).toBe(0);
    ch.next(1);
    expect(ch.pending).toBe(1);
  });
});

describe.each(TRANSPORTS)('peer frame limit over %s', (transport) => {
  it("importer -> exporter: next() of a value over the exporter's announced limit throws 'ETOOBIG' and the connection stays up", async () => {
    const p = await openPair(transport, { exporter: { maxFrameBytes: 1024 } });
    try {
      const inbox = record(exportChannel<string>(p.exporter, 'in', 'recv'));
      const errors = record(p.importer.errors$);
      const out = importChannel<string>(p.importer, 'in', 'send');
      out.next('warm-up');
      await inbox.count(1);
      await completion(p.importer.drain(5_000)); // its ACK came back after the exporter's HELLO
      expect(() => out.next('x'.repeat(2000))).toThrow(expect.objectContaining({ code: 'ETOOBIG' }));
      out.next('small');
      await inbox.count(2);
      expect(errors.values).toEqual([]);
    } finally {
      await p.close();
    }
  });
});

describe('value size limits', () => {
  it("a value over maxFrameBytes throws 'ETOOBIG' at next(), naming the sizes and the channel", async () => {
    const p = await openPair('memory', { exporter: { maxFrameBytes: 1024 } });
    try {
      const ch = exportChannel<Uint8Array>(p.exporter, 'big', 'send');
      let err: NetchanError | undefined;
      try {
        ch.next(new Uint8Array(2048));
      } catch (e) {
        err = e as NetchanError;
      }
      expect(err?.code).toBe('ETOOBIG');
      expect(err?.message).toContain('"big"');
      expect(err?.message).toContain('1024');
      expect(ch.pending).toBe(0);
    } finally {
      await p.close();
    }
  });
});
