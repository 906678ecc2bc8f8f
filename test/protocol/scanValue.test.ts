import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Decoder } from '@msgpack/msgpack';
import { scanValue } from '../../src/protocol/scanValue.js';
import { ValueCodec, payloadBytes } from '../../src/protocol/codec.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_ELEMENTS, type ValueLimits } from '../../src/protocol/limits.js';
import { isNetchanError, type NetchanError } from '../../src/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const DEFAULTS: ValueLimits = { maxDepth: DEFAULT_MAX_DEPTH, maxElements: DEFAULT_MAX_ELEMENTS };
const UNLIMITED: ValueLimits = { maxDepth: Infinity, maxElements: Infinity };

function caught(fn: () => unknown): NetchanError | undefined {
  try {
    fn();
  } catch (e) {
    if (!isNetchanError(e)) throw e;
    return e;
  }
  return undefined;
}

describe('scanValue: hand-written fixtures', () => {
  it.each([
    ['positive fixint', '2a', false],
    ['negative fixint', 'ff', false],
    ['nil, false, true in an array', '93 c0 c2 c3', false],
    ['float64', 'cb 400921fb54442d18', false],
    ['uint64', 'cf 0000000000000001', false],
    ['int8', 'd0 80', false],
    ['fixstr "hi"', 'a2 6869', false],
    ['str8 of 3', 'd9 03 616263', false],
    ['str16 of 1', 'da 0001 61', false],
    ['str32 of 0', 'db 00000000', false],
    ['map {a: [1, 2]}', '81 a1 61 92 01 02', false],
    ['map16 of 1 pair', 'de 0001 01 02', false],
    ['array32 of 2', 'dd 00000002 01 02', false],
    ['empty array, empty map', '92 90 80', false],
    ['bin8 of 2', 'c4 02 0102', true],
    ['bin32 of 0 inside an array', '91 c6 00000000', true],
    ['fixext1', 'd4 01 00', true],
    ['timestamp32 (fixext4 type -1)', 'd6 ff 00000001', true],
    ['ext8 of 2', 'c7 02 05 0102', true],
    ['ext16 of 0', 'c8 0000 05', true],
  ])('accepts %s (%s)', (_name, bytes, binary) => {
    expect(scanValue(hex(bytes), DEFAULTS)).toBe(binary);
    new Decoder().decode(hex(bytes)); // and msgpack agrees it is one whole value
  });

  it.each([
    ['nothing at all', '', /value ends early/],
    ['the reserved byte c1', 'c1', /reserved byte 0xc1 at byte 0/],
    ['trailing bytes', '01 02', /1 trailing byte\(s\) after the value at byte 1/],
    ['an array missing an item', '92 01', /array of 2 items at byte 0 needs at least 2 bytes, 1 left/],
    ['a fixstr past the end', 'a5 6869', /str of 5 bytes at byte 0 runs past the value \(2 left for it\)/],
    ['a str32 header cut short', 'db 0000', /header at byte 0 runs past the value/],
    ['a bin32 declaring 4 GiB', 'c6 ffffffff 00', /bin of 4294967295 bytes at byte 0 runs past the value \(1 left for it\)/],
    ['an ext whose type byte is missing', 'c7 00', /ext of 1 bytes at byte 0 runs past the value/],
    ['a float64 cut short', 'cb 0000', /number of 8 bytes/],
    ['an array of 16.7 M items in 6 bytes', 'dd 00ffffff 00', /array of 16777215 items at byte 0 needs at least 16777215 bytes, 1 left/],
    ['a map of 3 pairs in 5 bytes', '83 01 02 03 04', /map of 3 pairs at byte 0 needs at least 6 bytes, 4 left/],
    // The second item of the outer array is owed a byte too: the inner str cannot take it.
    ['a str that eats its sibling', '92 a1 61', /str of 1 bytes at byte 1 runs past the value \(0 left for it\)/],
  ])("refuses %s with 'EPROTO'", (_name, bytes, message) => {
    const err = caught(() => scanValue(hex(bytes), DEFAULTS));
    expect(err?.code).toBe('EPROTO');
    expect(err?.message).toMatch(message);
  });

  it("refuses 40 nested 'dd 00 ff ff ff' headers (the 207-byte HELLO of issue 8) at the first header", () => {
    const hello = hex('93 00 01' + 'dd00ffffff'.repeat(40) + '00'.repeat(4));
    expect(hello.length).toBeLessThan(210);
    const err = caught(() => scanValue(hello, DEFAULTS));
    expect(err?.code).toBe('EPROTO');
    expect(err?.message).toMatch(/array of 16777215 items at byte 3 needs at least 16777215 bytes/);
  });

  it("counts nesting: depth maxDepth is accepted, one more is 'ETOOBIG' naming both", () => {
    const limits = { maxDepth: 3, maxElements: 100 };
    expect(scanValue(hex('91 91 90'), limits)).toBe(false); // [[[]]]: depth 3
    expect(scanValue(hex('81 01 81 02 80'), limits)).toBe(false); // {1: {2: {}}}
    expect(caught(() => scanValue(hex('91 91 91 90'), limits))?.message).toBe('nesting depth (4) > maxDepth (3)');
    expect(caught(() => scanValue(hex('91 91 91 90'), limits))?.code).toBe('ETOOBIG');
    // Empty containers count too, wherever they sit.
    expect(caught(() => scanValue(hex('92 01 91 91 91 01'), limits))?.code).toBe('ETOOBIG');
  });

  it("counts items of every level, map keys and values alike: maxElements is accepted, one more is 'ETOOBIG'", () => {
    const limits = { maxDepth: 10, maxElements: 6 };
    expect(scanValue(hex('92 01 92 02 03'), limits)).toBe(false); // [1, [2, 3]]: 4 items
    expect(scanValue(hex('83 01 01 02 02 03 03'), limits)).toBe(false); // 3 pairs: 6 items
    expect(scanValue(hex('82 01 01 02 92 03 04'), limits)).toBe(false); // {1: 1, 2: [3, 4]}: 4 + 2 items
    const over = caught(() => scanValue(hex('82 01 01 02 93 03 04 05'), limits));
    expect(over?.code).toBe('ETOOBIG');
    expect(over?.message).toBe('items (7) > maxElements (6)');
  });

  it('checks what is structurally possible before the budgets: a huge header in a short value is EPROTO, in a long one ETOOBIG', () => {
    const limits = { maxDepth: 10, maxElements: 10 };
    expect(caught(() => scanValue(hex('9f 01'), limits))?.code).toBe('EPROTO');
    expect(caught(() => scanValue(hex('9f' + '01'.repeat(15)), limits))?.code).toBe('ETOOBIG');
  });
});

/** MessagePack-encodable values whose round trip is exact. */
const valueArb = fc.letrec((tie) => ({
  value: fc.oneof(
    { maxDepth: 4 },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true }).filter((x) => !Object.is(x, -0)), // msgpack encodes -0 as the integer 0
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ minLength: 30, maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 8 }),
    fc.dictionary(fc.string({ maxLength: 10 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 6 }),
  ),
})).value;

describe('scanValue and ValueCodec.decode: properties', () => {
  it('every value our encoder produces is accepted and round-trips unchanged, also inside a larger buffer', () => {
    const codec = new ValueCodec();
    fc.assert(
      fc.property(valueArb, fc.uint8Array({ maxLength: 16 }), (value, junk) => {
        // (A Uint8Array value is kept as the caller's bytes; its `bin` header is written with its frame.)
        const bytes = payloadBytes(codec.encode(value, 'p'));
        // A view into a bigger chunk, as a frame body is.
        const chunk = new Uint8Array(junk.length + bytes.length + 7);
        chunk.set(junk);
        chunk.set(bytes, junk.length);
        const view = chunk.subarray(junk.length, junk.length + bytes.length);
        expect(codec.decode(view, 'p')).toEqual(value);
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes only ever produce a value or NetchanError EPROTO/ETOOBIG, and the codec still works afterwards', () => {
    const codec = new ValueCodec({ maxElements: 64, maxDepth: 8 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          codec.decode(bytes, 'fuzz');
        } catch (e) {
          expect(isNetchanError(e) && ['EPROTO', 'ETOOBIG'].includes(e.code), String(e)).toBe(true);
        }
        try {
          codec.decodeControl(bytes);
        } catch (e) {
          expect(isNetchanError(e) && ['EPROTO', 'ETOOBIG'].includes(e.code), String(e)).toBe(true);
        }
        expect(codec.decode(hex('92 01 a1 61'), 'after')).toEqual([1, 'a']);
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with msgpack: whatever msgpack decodes the scan accepts (no limits), and whatever the scan calls malformed msgpack refuses', () => {
    const decoder = new Decoder();
    // Bytes biased toward headers, so containers and lengths get exercised.
    const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x90, 0x91, 0x92, 0x81, 0xa1, 0xc4, 0xd4, 0xdc, 0xde, 0x00, 0x01));
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 24 }), (arr) => {
        const bytes = Uint8Array.from(arr);
        let decoded = true;
        try {
          decoder.decode(bytes);
        } catch {
          decoded = false;
        }
        const err = caught(() => scanValue(bytes, UNLIMITED));
        if (decoded) expect(err).toBeUndefined();
        if (err?.code === 'EPROTO') expect(decoded).toBe(false);
      }),
      { numRuns: 5000 },
    );
  });

  it('hostile headers (huge declared counts and lengths, deep nesting) are refused quickly, whatever follows them', () => {
    const codec = new ValueCodec();
    const header = fc.oneof(
      fc.constantFrom('dd00ffffff', 'ddffffffff', 'df00ffffff', 'dfffffffff', 'dcffff', 'deffff', 'c6ffffffff', 'dbffffffff', 'c9ffffffff01', '91', '81a161'),
    );
    fc.assert(
      fc.property(fc.array(header, { minLength: 1, maxLength: 200 }), fc.integer({ min: 0, max: 2000 }), (heads, pad) => {
        const bytes = hex(heads.join('') + '00'.repeat(pad));
        const t0 = performance.now();
        try {
          codec.decode(bytes, 'hostile');
        } catch (e) {
          expect(isNetchanError(e) && ['EPROTO', 'ETOOBIG'].includes(e.code), String(e)).toBe(true);
        }
        // Each of these has at most ~3,000 bytes: anything that takes long allocated what was declared.
        expect(performance.now() - t0).toBeLessThan(250);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('ValueCodec.decode: errors and copies', () => {
  it("names the channel and the limit: 'ETOOBIG' for budgets, 'EPROTO' for impossible input", () => {
    const codec = new ValueCodec({ maxDepth: 2, maxElements: 4 });
    const deep = caught(() => codec.decode(hex('91 91 91 01'), 'deep'));
    expect(deep?.code).toBe('ETOOBIG');
    expect(deep?.message).toBe('channel "deep": value over the decoding limits: nesting depth (3) > maxDepth (2)');
    const many = caught(() => codec.decode(hex('95 01 02 03 04 05'), 'many'));
    expect(many?.message).toBe('channel "many": value over the decoding limits: items (5) > maxElements (4)');
    const bad = caught(() => codec.decodeControl(hex('93 00 01 dd 00ffffff')));
    expect(bad?.code).toBe('EPROTO');
    expect(bad?.message).toMatch(/^malformed frame: array of 16777215 items at byte 3/);
    // Not structural, but refused by msgpack: still EPROTO.
    expect(caught(() => codec.decode(hex('81 c0 01'), 'keys'))?.code).toBe('EPROTO');
  });

  it('a received Uint8Array never shares memory with the bytes it came from', () => {
    const codec = new ValueCodec();
    const chunk = new Uint8Array(64 * 1024); // a socket read holding this value among others
    chunk.set(hex('82 a1 62 c4 01 07 a1 65 d4 05 09'), 1000);
    const value = codec.decode(chunk.subarray(1000, 1011), 'pin') as { b: Uint8Array; e: { data: Uint8Array } };
    expect(value.b).toEqual(Uint8Array.of(7));
    expect(value.b.buffer).not.toBe(chunk.buffer);
    expect(value.b.buffer.byteLength).toBeLessThanOrEqual(11);
    expect(value.e.data.buffer.byteLength).toBeLessThanOrEqual(11);
    chunk.fill(0xee); // later input reuses the chunk: the value is unaffected
    expect(value.b).toEqual(Uint8Array.of(7));
  });

  it('4,000 held 1-byte values from 64 KiB reads keep less than 1 MiB of buffers (issue 8 finding 3: 227 MB before)', () => {
    const codec = new ValueCodec();
    const held: Uint8Array[] = [];
    for (let i = 0; i < 4000; i++) {
      const read = new Uint8Array(57 * 1024); // one read, mostly other frames
      read.set(hex('c4 01 2a'), 500);
      held.push(codec.decode(read.subarray(500, 503), 'pin') as Uint8Array);
    }
    const buffers = new Set(held.map((v) => v.buffer));
    let bytes = 0;
    for (const b of buffers) bytes += b.byteLength;
    expect(bytes).toBeLessThan(1024 * 1024);
  });

  it('a value without bin or ext data is decoded in place (no copy needed: strings and numbers hold no view)', () => {
    const codec = new ValueCodec();
    const bytes = hex('92 a1 61 01');
    const before = bytes.slice();
    expect(codec.decode(bytes, 'x')).toEqual(['a', 1]);
    expect(bytes).toEqual(before);
  });
});

describe('ValueCodec.decode: when it copies', () => {
  it('does not copy bytes that fill most of their buffer (a reassembled frame): at most 2x is kept alive', () => {
    const codec = new ValueCodec();
    const own = hex('c4 03 010203');
    const v = codec.decode(own, 'big') as Uint8Array;
    expect(v.buffer).toBe(own.buffer);
    const half = new Uint8Array(10);
    half.set(hex('c4 03 010203'));
    expect((codec.decode(half.subarray(0, 5), 'half') as Uint8Array).buffer).toBe(half.buffer);
    const third = new Uint8Array(11);
    third.set(hex('c4 03 010203'));
    expect((codec.decode(third.subarray(0, 5), 'third') as Uint8Array).buffer).not.toBe(third.buffer);
  });
});
