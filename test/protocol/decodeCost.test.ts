import { describe, expect, it } from 'vitest';
import { ValueCodec } from '../../src/protocol/codec.js';
import { DEFAULT_MAX_ELEMENTS } from '../../src/protocol/limits.js';
import { isNetchanError } from '../../src/index.js';

/**
 * What one hostile value may cost the event loop (issue 8, findings 1 and 2).
 * Measured on a shared 2-core machine: the refused ones below take under 1 ms,
 * the costliest accepted ones ~10-20 ms (up to ~50 ms with a GC pause). The
 * bounds here are 10x that, so a loaded CI machine does not flake; before the
 * limits these took 0.3 s to 17 s, or aborted the process.
 */
const REFUSE_MS = 100;
const ACCEPT_MS = 500;

/** Writes MessagePack by hand, straight into a buffer (no JS array of 16 M numbers). */
class Bytes {
  buf: Uint8Array;
  len = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }
  put(...b: number[]): this {
    for (const x of b) this.buf[this.len++] = x;
    return this;
  }
  u16(n: number): this {
    return this.put(n >>> 8, n & 0xff);
  }
  u32(n: number): this {
    return this.put(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  str(s: string): this {
    this.put(0xd9, s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
    return this;
  }
  done(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** `size` bytes of fixarray-of-one headers ending in an empty array. */
function nested(size: number): Uint8Array {
  const b = new Uint8Array(size).fill(0x91);
  b[size - 1] = 0x90;
  return b;
}

function timed(fn: () => void): { ms: number; error?: unknown } {
  const t0 = performance.now();
  try {
    fn();
    return { ms: performance.now() - t0 };
  } catch (error) {
    return { ms: performance.now() - t0, error };
  }
}

const codec = new ValueCodec(); // the defaults: 16 MiB frames, maxDepth 100, maxElements 32,768

describe('decoding cost of hostile values under the default limits', () => {
  const refused: Array<[string, () => Uint8Array, 'EPROTO' | 'ETOOBIG']> = [
    // 40 nested `dd 00 ff ff ff` after a HELLO header: 207 bytes that aborted the process (4.3 GB).
    ['40 nested array32 headers of 16.7 M items', () => new Bytes(300).put(0x93, 0x00, 0x01, ...Array.from({ length: 40 }, () => [0xdd, 0, 0xff, 0xff, 0xff]).flat(), 0).done(), 'EPROTO'],
    // A whole 16 MiB frame of 0x91: arrays nested 16.7 M deep (17 s, 2.8 GB).
    ['16 MiB of arrays nested 16.7 M deep', () => nested(16 << 20), 'ETOOBIG'],
    ['arrays nested a million deep', () => nested(1_000_001), 'ETOOBIG'],
    [
      'a map with a million keys',
      () => {
        const b = new Bytes(12_000_000).put(0xdf).u32(1_000_000);
        for (let i = 0; i < 1_000_000; i++) b.str(`k${i}`).put(0);
        return b.done();
      },
      'ETOOBIG',
    ],
    ['an array of 16 M one-byte items', () => new Bytes(16_000_005).put(0xdd).u32(16_000_000).buf, 'ETOOBIG'],
  ];

  it.each(refused)('%s: refused with the right code, in bounded time and memory', (_name, build, code) => {
    const bytes = build();
    const heap = process.memoryUsage().heapUsed;
    for (const decode of [() => codec.decode(bytes, 'hostile'), () => codec.decodeControl(bytes)]) {
      const { ms, error } = timed(decode);
      expect(isNetchanError(error) && error.code).toBe(code);
      expect(ms).toBeLessThan(REFUSE_MS);
    }
    expect(process.memoryUsage().heapUsed - heap).toBeLessThan(32 << 20);
  });

  const n = DEFAULT_MAX_ELEMENTS;
  const accepted: Array<[string, () => Uint8Array]> = [
    [
      `${n} timestamps`,
      () => {
        const b = new Bytes(5 + 6 * n).put(0xdd).u32(n);
        for (let i = 0; i < n; i++) b.put(0xd6, 0xff).u32(i);
        return b.done();
      },
    ],
    [
      `${n} one-byte bins`,
      () => {
        const b = new Bytes(5 + 3 * n).put(0xdd).u32(n);
        for (let i = 0; i < n; i++) b.put(0xc4, 1, i & 0xff);
        return b.done();
      },
    ],
    [
      `one map of ${n / 2 - 1} distinct keys`,
      () => {
        const keys = n / 2 - 1;
        const b = new Bytes(keys * 16).put(0xde).u16(keys);
        for (let i = 0; i < keys; i++) b.str(`key-${i}`).put(0);
        return b.done();
      },
    ],
    [
      'small maps, every key new (a hidden class each)',
      () => {
        const maps = Math.floor(n / 11);
        const b = new Bytes(maps * 80).put(0xdd).u32(maps);
        let id = 0;
        for (let i = 0; i < maps; i++) {
          b.put(0x85);
          for (let j = 0; j < 5; j++) b.str(`k${id++}`).put(0);
        }
        return b.done();
      },
    ],
    [
      '100 levels of arrays, each with 300 strings',
      () => {
        const b = new Bytes(100 * 3000);
        for (let d = 0; d < 99; d++) {
          b.put(0xdc).u16(301);
          for (let j = 0; j < 300; j++) b.put(0xa2, 0x41 + (j % 26), 0x41 + d);
        }
        return b.put(0x90).done();
      },
    ],
  ];

  it.each(accepted)('%s: the worst that is accepted decodes in bounded time', (_name, build) => {
    const bytes = build();
    const { ms, error } = timed(() => codec.decode(bytes, 'costly'));
    expect(error).toBeUndefined();
    expect(ms).toBeLessThan(ACCEPT_MS);
  });
});
