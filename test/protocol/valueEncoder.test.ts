// The one-pass encoding of objects without their undefined properties: in use
// with the installed @msgpack/msgpack, and decoding exactly as its ignoreUndefined does.
import { describe, expect, it } from 'vitest';
import { Encoder, decode } from '@msgpack/msgpack';
import { createValueEncoder, usesOnePassMaps } from '../../src/protocol/valueEncoder.js';

const stock = new Encoder({ ignoreUndefined: true });
const ours = createValueEncoder<undefined>({ initialBufferSize: 8 });

function wide(n: number, every: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) o[`k${i}`] = i % every === 0 ? undefined : { i, s: 'x'.repeat(i % 50) };
  return o;
}

describe('createValueEncoder', () => {
  it('uses the one-pass map encoding with the installed @msgpack/msgpack (else it falls back to ignoreUndefined)', () => {
    expect(usesOnePassMaps()).toBe(true);
  });

  it.each<[string, unknown]>([
    ['no undefined', { a: 1, b: 'x', c: [1, null], d: { e: true } }],
    ['undefined at the top', { a: 1, b: undefined }],
    ['nested, and in arrays (null there)', { a: [undefined, { b: undefined, c: 2 }], d: { e: undefined } }],
    ['all undefined', { a: undefined, b: undefined }],
    ['16 keys shrinking below 16', wide(16, 3)],
    ['70,000 keys (a map32 header)', wide(70_000, 7)],
    ['300 keys (a map16 header)', wide(300, 2)],
    ['a buffer that grows while the map is written', { big: 'y'.repeat(100_000), gone: undefined, after: 1 }],
  ])('%s: decodes as the stock encoder', (_name, value) => {
    expect(decode(ours.encode(value))).toEqual(decode(stock.encode(value)));
  });

  it('writes the same bytes as plain MessagePack for objects of up to 15 keys', () => {
    const v = { a: 1, b: undefined, c: 'x', d: [undefined] };
    expect(Buffer.from(ours.encode(v))).toEqual(Buffer.from(stock.encode(v)));
  });
});
