// Raw MessagePack byte building: headers with any declared length, so the
// fuzzer can write what no encoder would (lengths past the end of the frame,
// nesting a million deep, truncated bodies).
import { encode } from '@msgpack/msgpack';

/** A growable byte buffer. */
export class Bytes {
  private buf = new Uint8Array(64);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  byte(b: number): this {
    this.room(1);
    this.buf[this.length++] = b & 0xff;
    return this;
  }

  /** `n` copies of byte `b` (deep nesting in one call). */
  fill(b: number, n: number): this {
    this.room(n);
    this.buf.fill(b & 0xff, this.length, this.length + n);
    this.length += n;
    return this;
  }

  bytes(bs: ArrayLike<number>): this {
    this.room(bs.length);
    this.buf.set(bs, this.length);
    this.length += bs.length;
    return this;
  }

  /** Big-endian unsigned integer of `size` bytes. */
  uint(v: number, size: 1 | 2 | 4 | 8): this {
    this.room(size);
    let x = BigInt(Math.max(0, Math.floor(v)));
    for (let i = size - 1; i >= 0; i--) {
      this.buf[this.length + i] = Number(x & 0xffn);
      x >>= 8n;
    }
    this.length += size;
    return this;
  }

  /** A copy of what was written. */
  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Container and blob kinds with a declared length. */
export type HeaderKind = 'array' | 'map' | 'str' | 'bin' | 'ext';

/**
 * The header of a `kind` whose declared length is `n`, in the smallest
 * encoding or the one named by `width` (a fix- form needs a small n).
 */
export function header(out: Bytes, kind: HeaderKind, n: number, width?: 'fix' | 8 | 16 | 32, extType = 1): Bytes {
  const w = width ?? smallest(kind, n);
  switch (kind) {
    case 'array':
      if (w === 'fix') return out.byte(0x90 | (n & 0x0f));
      return w === 16 ? out.byte(0xdc).uint(n, 2) : out.byte(0xdd).uint(n, 4);
    case 'map':
      if (w === 'fix') return out.byte(0x80 | (n & 0x0f));
      return w === 16 ? out.byte(0xde).uint(n, 2) : out.byte(0xdf).uint(n, 4);
    case 'str':
      if (w === 'fix') return out.byte(0xa0 | (n & 0x1f));
      return w === 8 ? out.byte(0xd9).uint(n, 1) : w === 16 ? out.byte(0xda).uint(n, 2) : out.byte(0xdb).uint(n, 4);
    case 'bin':
      return w === 8 || w === 'fix' ? out.byte(0xc4).uint(n, 1) : w === 16 ? out.byte(0xc5).uint(n, 2) : out.byte(0xc6).uint(n, 4);
    case 'ext': {
      const fixed = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 }[n];
      if (w === 'fix' && fixed !== undefined) return out.byte(fixed).byte(extType);
      const h = w === 8 || w === 'fix' ? out.byte(0xc7).uint(n, 1) : w === 16 ? out.byte(0xc8).uint(n, 2) : out.byte(0xc9).uint(n, 4);
      return h.byte(extType);
    }
  }
}

function smallest(kind: HeaderKind, n: number): 'fix' | 8 | 16 | 32 {
  if ((kind === 'array' || kind === 'map') && n < 16) return 'fix';
  if (kind === 'str' && n < 32) return 'fix';
  if ((kind === 'str' || kind === 'bin' || kind === 'ext') && n < 0x100) return kind === 'ext' && [1, 2, 4, 8, 16].includes(n) ? 'fix' : 8;
  return n < 0x10000 ? 16 : 32;
}

/** The largest length each header width can declare. */
export const MAX_DECLARED = { fix: 15, 8: 0xff, 16: 0xffff, 32: 0xffffffff } as const;

/** MessagePack for a plain JS value, as the library's encoder writes it. */
export function encodeValue(v: unknown): Uint8Array {
  return encode(v);
}

/** Hex of the first `max` bytes, for counterexamples. */
export function hex(b: Uint8Array, max = 64): string {
  const s = Buffer.from(b.subarray(0, max)).toString('hex').replace(/(..)/g, '$1 ').trim();
  return b.length > max ? `${s} … (${b.length} bytes)` : s;
}
