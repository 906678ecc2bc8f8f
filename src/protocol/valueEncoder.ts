import { Decoder, Encoder, type EncoderOptions } from '@msgpack/msgpack';

/** The members of @msgpack/msgpack's Encoder (3.x) that the one-pass map encoding uses. */
interface EncoderInternals {
  pos: number;
  view: DataView;
  writeU8(v: number): void;
  writeU16(v: number): void;
  writeU32(v: number): void;
  encodeString(s: string): void;
  doEncode(v: unknown, depth: number): void;
}

/**
 * An object as a MessagePack map without its `undefined` properties, in one
 * pass: the header is written for every key and its count patched afterwards.
 * The stock `ignoreUndefined` counts the keys in a pass of its own first, which
 * costs the small-object hot path about a tenth of its encoding time.
 * (A map that shrinks from 16 keys or more to fewer keeps its map16 header: valid
 * MessagePack, as any decoder reads it.)
 */
function encodeMapOmittingUndefined(this: EncoderInternals, object: Record<string, unknown>, depth: number): void {
  const keys = Object.keys(object);
  const n = keys.length;
  const at = this.pos;
  if (n < 16) this.writeU8(0x80 + n);
  else if (n < 0x10000) {
    this.writeU8(0xde);
    this.writeU16(n);
  } else {
    this.writeU8(0xdf);
    this.writeU32(n);
  }
  let count = 0;
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    const value = object[key];
    if (value !== undefined) {
      this.encodeString(key);
      this.doEncode(value, depth + 1);
      count++;
    }
  }
  // Read `view` only now: encoding the values may have grown the buffer.
  if (count !== n) {
    if (n < 16) this.view.setUint8(at, 0x80 + count);
    else if (n < 0x10000) this.view.setUint16(at + 1, count);
    else this.view.setUint32(at + 1, count);
  }
}

type EncoderClass = new <C>(options?: EncoderOptions<C>) => Encoder<C>;

/**
 * Encoder with `encodeMap` replaced by {@link encodeMapOmittingUndefined}, if
 * this version of @msgpack/msgpack has the internals it relies on and the result
 * decodes as the stock encoder's does; otherwise the stock Encoder (with
 * `ignoreUndefined`, slower but the same values).
 */
function makeEncoderClass(): EncoderClass {
  class OmitUndefinedEncoder<C> extends Encoder<C> {}
  const proto = Encoder.prototype as unknown as Partial<Record<keyof EncoderInternals | 'encodeMap', unknown>>;
  const needed = ['encodeMap', 'writeU8', 'writeU16', 'writeU32', 'encodeString', 'doEncode'] as const;
  if (!needed.every((m) => typeof proto[m] === 'function')) return Encoder;
  Object.defineProperty(OmitUndefinedEncoder.prototype, 'encodeMap', { value: encodeMapOmittingUndefined, writable: true, configurable: true });
  try {
    const wide: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) wide[`k${i}`] = i % 4 === 0 ? undefined : { i, u: undefined, s: 'x'.repeat(i * 20) };
    const samples: unknown[] = [{ a: 1, b: undefined, c: [undefined, { d: undefined }] }, wide, { big: 'y'.repeat(5000), tail: undefined }];
    const ours = new OmitUndefinedEncoder<undefined>({ initialBufferSize: 16, ignoreUndefined: true });
    const stock = new Encoder({ ignoreUndefined: true });
    const decoder = new Decoder();
    for (const v of samples) {
      if (JSON.stringify(decoder.decode(ours.encode(v))) !== JSON.stringify(decoder.decode(stock.encode(v)))) return Encoder;
    }
  } catch {
    return Encoder;
  }
  return OmitUndefinedEncoder as EncoderClass;
}

let encoderClass: EncoderClass | undefined;

/**
 * A MessagePack encoder that leaves out `undefined` object properties (as
 * `ignoreUndefined` does, at the cost of plain `encode`). `ignoreUndefined` is
 * set too, so the stock fallback and the encoder's clones behave the same.
 */
export function createValueEncoder<C>(options: EncoderOptions<C>): Encoder<C> {
  encoderClass ??= makeEncoderClass();
  return new encoderClass<C>({ ...options, ignoreUndefined: true } as EncoderOptions<C>);
}

/** True when the one-pass map encoding is in use (for tests). */
export function usesOnePassMaps(): boolean {
  encoderClass ??= makeEncoderClass();
  return encoderClass !== Encoder;
}
