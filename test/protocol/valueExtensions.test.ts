// What crosses: Map, Set, BigInt and Error as themselves (extension types 0x70–0x73),
// undefined properties left out, class instances as plain objects, user extensions
// in 0–0x6f; and what does not (functions, symbols, cycles) fails with 'EINVAL' and a path.
import { describe, expect, it } from 'vitest';
import { ExtData, encode } from '@msgpack/msgpack';
import { ValueCodec } from '../../src/protocol/codec.js';
import { ValueExtType, type ValueExtension } from '../../src/protocol/valueExtensions.js';
import { isNetchanError, type NetchanError } from '../../src/index.js';

const MiB = 1024 * 1024;

function roundTrip(value: unknown, codec = new ValueCodec(16 * MiB)): unknown {
  return codec.decode(codec.encode(value, 'c'), 'c');
}

function thrown(f: () => unknown): NetchanError {
  try {
    f();
  } catch (e) {
    return e as NetchanError;
  }
  throw new Error('expected a throw');
}

class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
  get length(): number {
    return Math.hypot(this.x, this.y);
  }
}

/** A decimal kept as a string (a user type with its own extension). */
class Decimal {
  constructor(readonly digits: string) {}
}
const decimal: ValueExtension<Decimal> = {
  type: 0x01,
  encode: (v) => (v instanceof Decimal ? new TextEncoder().encode(v.digits) : null),
  decode: (data) => new Decimal(new TextDecoder().decode(data)),
};
/** A class whose payload is encoded with the codec itself (nested Map, Date, …). */
class Order {
  constructor(
    readonly id: number,
    readonly lines: Map<string, Decimal>,
    readonly at: Date,
  ) {}
}
const order: ValueExtension<Order> = {
  type: 0x02,
  encode: (v, codec) => (v instanceof Order ? codec.encode([v.id, v.lines, v.at]) : null),
  decode: (data, _type, codec) => {
    const [id, lines, at] = codec.decode(data) as [number, Map<string, Decimal>, Date];
    return new Order(id, lines, at);
  },
};

describe('values that cross as themselves', () => {
  it('Map, with any keys and nested values', () => {
    const key = { k: 1 };
    const m = new Map<unknown, unknown>([
      ['a', 1],
      [2, [1, 2]],
      [key, new Map([['inner', new Set([1])]])],
    ]);
    const back = roundTrip(m) as Map<unknown, unknown>;
    expect(back).toBeInstanceOf(Map);
    expect([...back.entries()]).toEqual([...m.entries()]);
    expect(roundTrip(new Map())).toEqual(new Map());
  });

  it('Set', () => {
    const back = roundTrip({ tags: new Set(['x', 'y', 3]) }) as { tags: Set<unknown> };
    expect(back.tags).toBeInstanceOf(Set);
    expect([...back.tags]).toEqual(['x', 'y', 3]);
  });

  it('BigInt of any size and sign', () => {
    for (const n of [0n, 1n, -1n, 255n, -(2n ** 64n), 2n ** 200n + 12345n]) expect(roundTrip(n)).toBe(n);
    expect(roundTrip({ big: 10n })).toEqual({ big: 10n });
  });

  it('Error: name, message, string code and cause arrive; the stack stays behind', () => {
    const cause = Object.assign(new TypeError('bad input'), { code: 'E_INPUT' });
    const e = Object.assign(new Error('job failed', { cause }), { code: 'EJOB', pending: 3 });
    const back = roundTrip(e) as Error & { code?: string; pending?: number; cause?: Error & { code?: string } };
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe('Error');
    expect(back.message).toBe('job failed');
    expect(back.code).toBe('EJOB');
    expect(back.pending).toBeUndefined();
    expect(back.cause).toBeInstanceOf(TypeError);
    expect(back.cause?.message).toBe('bad input');
    expect(back.cause?.code).toBe('E_INPUT');
    expect(back.stack).not.toContain('valueExtensions.test');
  });

  it('a NetchanError arrives as an Error that isNetchanError() recognises', () => {
    const codec = new ValueCodec(MiB);
    const err = thrown(() => codec.encode(() => 1, 'jobs'));
    const back = roundTrip(err) as NetchanError;
    expect(isNetchanError(back)).toBe(true);
    expect(back.code).toBe('EINVAL');
    expect(back.message).toBe(err.message);
  });

  it('an Error subclass arrives under its name; a cause that cannot be encoded, or loops back, is left out', () => {
    class JobError extends Error {
      override name = 'JobError';
    }
    const e = new JobError('x', { cause: () => 1 });
    const back = roundTrip(e) as Error;
    expect(back.name).toBe('JobError');
    expect(back.message).toBe('x');
    expect('cause' in back).toBe(false);

    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    const loop = roundTrip(a) as Error;
    expect((loop.cause as Error).message).toBe('b');
    expect('cause' in (loop.cause as Error)).toBe(false);
  });

  it('undefined: left out of objects, null in arrays (as JSON)', () => {
    expect(roundTrip({ a: 1, b: undefined })).toStrictEqual({ a: 1 });
    expect(roundTrip([1, undefined, 3])).toEqual([1, null, 3]);
    expect(roundTrip(undefined)).toBe(null);
  });

  it('class instances arrive as plain objects of their own enumerable properties', () => {
    const back = roundTrip(new Point(3, 4));
    expect(back).toStrictEqual({ x: 3, y: 4 });
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
  });

  it('plain data encodes exactly as plain MessagePack (the built-in types cost nothing on the wire)', () => {
    const v = { i: 7, s: 'hello', t: 1.5, list: [1, null, 'x'], when: new Date(0), bin: Uint8Array.of(1, 2) };
    const codec = new ValueCodec(MiB);
    expect(Buffer.from(codec.encode(v, 'c'))).toEqual(Buffer.from(encode(v)));
  });

  it('the wire format of the built-in types (docs: README "What crosses")', () => {
    const codec = new ValueCodec(MiB);
    const hex = (v: unknown) => Buffer.from(codec.encode(v, 'c')).toString('hex');
    expect(hex(new Map([['a', 1]]))).toBe('d670' + '92a16101'); // fixext 4, type 0x70: [ 'a', 1 ]
    expect(hex(new Set([1]))).toBe('d571' + '9101'); // fixext 2, type 0x71: [ 1 ]
    expect(hex(-31n)).toBe('c70372' + Buffer.from('-1f').toString('hex')); // ext 8, type 0x72: "-1f"
  });
});

describe('user extensions', () => {
  it('round-trip a class, nested in plain data, and may encode their payload with the codec', () => {
    const codec = new ValueCodec({ maxFrameBytes: MiB, extensions: [decimal, order] });
    const v = { orders: [new Order(7, new Map([['apples', new Decimal('1.10')]]), new Date(1000))] };
    const back = roundTrip(v, codec) as typeof v;
    const o = back.orders[0]!;
    expect(o).toBeInstanceOf(Order);
    expect(o.id).toBe(7);
    expect(o.at).toEqual(new Date(1000));
    expect(o.lines.get('apples')).toBeInstanceOf(Decimal);
    expect(o.lines.get('apples')?.digits).toBe('1.10');
  });

  it('come before the built-in types (a codec for a Map subclass wins)', () => {
    class Registry extends Map<string, number> {}
    const registry: ValueExtension<Registry> = {
      type: 0x10,
      encode: (v, codec) => (v instanceof Registry ? codec.encode([...v]) : null),
      decode: (data, _t, codec) => new Registry(codec.decode(data) as Array<[string, number]>),
    };
    const back = roundTrip(new Registry([['a', 1]]), new ValueCodec({ maxFrameBytes: MiB, extensions: [registry] }));
    expect(back).toBeInstanceOf(Registry);
  });

  it('a type the receiver does not know arrives as ExtData', () => {
    const sender = new ValueCodec({ maxFrameBytes: MiB, extensions: [decimal] });
    const receiver = new ValueCodec(MiB);
    const back = receiver.decode(sender.encode(new Decimal('2'), 'c'), 'c');
    expect(back).toBeInstanceOf(ExtData);
    expect((back as ExtData).type).toBe(1);
  });

  it.each([
    [0x70, 'extension type 0x70 is not available: use 0 to 0x6f (0x70–0x7f are reserved for rx-netchan)'],
    [0x7f, 'extension type 0x7f is not available'],
    [-1, 'extension type -1 is not available'],
    [1.5, 'extension type 1.5 is not available'],
    [128, 'extension type 0x80 is not available'],
  ])("type %s is refused with 'EINVAL'", (type, message) => {
    const err = thrown(() => new ValueCodec({ maxFrameBytes: MiB, extensions: [{ ...decimal, type }] }));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toContain(message);
  });

  it("the same type twice is refused with 'EINVAL'", () => {
    const err = thrown(() => new ValueCodec({ maxFrameBytes: MiB, extensions: [decimal, { ...order, type: decimal.type }] }));
    expect(err).toMatchObject({ code: 'EINVAL', message: 'extension type 0x1 is registered twice' });
  });
});

describe("values that cannot be encoded: 'EINVAL' with the path of the bad field", () => {
  const codec = new ValueCodec({ maxFrameBytes: MiB, extensions: [decimal] });
  const cases: Array<[string, unknown, string]> = [
    ['a function in an array in an object', { items: [1, 2, { cb: () => 1 }] }, 'value.items[2].cb: a function cannot be encoded'],
    ['a symbol at the top', Symbol('x'), 'value: a symbol cannot be encoded'],
    ['a key that is not an identifier', { 'a b': { f() {} } }, 'value["a b"].f: a function cannot be encoded'],
    ['a function as a Map value', { m: new Map([['k', () => 1]]) }, 'value.m.get("k"): a function cannot be encoded'],
    ['a function as a Map key', new Map([[() => 1, 1]]), 'value.keys()[0]: a function cannot be encoded'],
    ['a symbol in a Set', new Set([1, Symbol('s')]), 'value.values()[1]: a symbol cannot be encoded'],
    ['a function inside a class instance', new (class Job { run = () => 1 })(), 'value.run: a function cannot be encoded'],
  ];
  it.each(cases)('%s', (_name, value, detail) => {
    const err = thrown(() => codec.encode(value, 'jobs'));
    expect(err.name).toBe('NetchanError');
    expect(err.code).toBe('EINVAL');
    expect(err.message).toBe(`channel "jobs": ${detail}`);
  });

  it('a value that contains itself', () => {
    const a: Record<string, unknown> = { list: [] };
    (a['list'] as unknown[]).push({ back: a });
    expect(thrown(() => codec.encode(a, 'jobs')).message).toBe('channel "jobs": value.list[0].back: a circular reference cannot be encoded (the value contains itself)');
    const m = new Map<string, unknown>();
    m.set('self', m);
    expect(thrown(() => codec.encode(m, 'jobs')).message).toBe('channel "jobs": value.get("self"): a circular reference cannot be encoded (the value contains itself)');
  });

  it('an extension that throws is named', () => {
    const broken: ValueExtension = {
      type: 0x03,
      encode: (v) => {
        if (v instanceof Point) throw new Error('no points today');
        return null;
      },
      decode: () => null,
    };
    const c = new ValueCodec({ maxFrameBytes: MiB, extensions: [broken] });
    expect(thrown(() => c.encode({ p: new Point(1, 2) }, 'jobs')).message).toBe('channel "jobs": value.p: an extension failed to encode it: no points today');
  });

  it('the codec keeps working afterwards', () => {
    expect(() => codec.encode({ f: () => 1 }, 'jobs')).toThrow();
    expect(roundTrip({ ok: new Map([[1, 2]]) }, codec)).toEqual({ ok: new Map([[1, 2]]) });
  });

  it('in a control frame (an importer auth value)', () => {
    const err = thrown(() => codec.encodeControl([1, 'HELLO', { token: 'x', refresh: () => 1 }]));
    expect(err).toMatchObject({ code: 'EINVAL', message: 'control frame: frame[2].refresh: a function cannot be encoded' });
  });
});

describe('hostile extension payloads: EPROTO, and the decoder keeps working', () => {
  const codec = new ValueCodec(MiB);
  const ext = (type: number, data: Uint8Array) => encode(new ExtData(type, data));
  const bad: Array<[string, Uint8Array]> = [
    ['a Map of an odd number of items', ext(ValueExtType.Map, encode([1, 2, 3]))],
    ['a Map that is not an array', ext(ValueExtType.Map, encode('x'))],
    ['a Set that is not an array', ext(ValueExtType.Set, encode(1))],
    ['a BigInt that is not hexadecimal', ext(ValueExtType.BigInt, new TextEncoder().encode('12x'))],
    ['an empty BigInt', ext(ValueExtType.BigInt, new Uint8Array(0))],
    ['an Error that is not a map', ext(ValueExtType.Error, encode([1]))],
    ['an Error without a message', ext(ValueExtType.Error, encode({ name: 'Error' }))],
    ['a truncated Map payload', ext(ValueExtType.Map, encode([1, 'abcdef']).subarray(0, 4))],
  ];
  it.each(bad)('%s', (_name, bytes) => {
    expect(() => codec.decode(bytes, 'c')).toThrow(expect.objectContaining({ code: 'EPROTO', message: expect.stringContaining('channel "c": malformed value') }));
    expect(codec.decode(encode({ ok: 1 }), 'c')).toEqual({ ok: 1 });
  });

  it('extension values nested deeper than 100 are refused, not a stack overflow', () => {
    let bytes = encode(1);
    for (let i = 0; i < 5000; i++) bytes = encode(new ExtData(ValueExtType.Set, wrapInArray(bytes)));
    expect(() => codec.decode(bytes, 'c')).toThrow(expect.objectContaining({ code: 'EPROTO', message: expect.stringContaining('nested more than 100 deep') }));
  });
});

/** A MessagePack array of one already-encoded item. */
function wrapInArray(item: Uint8Array): Uint8Array {
  const out = new Uint8Array(item.length + 1);
  out[0] = 0x91;
  out.set(item, 1);
  return out;
}
