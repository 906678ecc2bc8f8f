import { Decoder, Encoder } from '@msgpack/msgpack';
import { NetchanError } from '../errors/NetchanError.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_FRAME_BYTES, type ValueLimits } from './limits.js';
import { scanValue } from './scanValue.js';

/** Room kept in a frame for its header: array marker, type, id (uint32). */
export const DATA_HEADER_MAX = 2 + 5;

/** Options of a {@link ValueCodec}. */
export interface ValueCodecConfig {
  /** Largest frame body. Defaults to 16 MiB (`DEFAULT_MAX_FRAME_BYTES`). */
  maxFrameBytes?: number;
  /** Deepest nesting of arrays and maps in a received value. Defaults to 100 (`DEFAULT_MAX_DEPTH`). */
  maxDepth?: number;
  /** Most items (array elements, map keys and values) in a received value. Defaults to 32,768 (`DEFAULT_MAX_ELEMENTS`). */
  maxElements?: number;
}

/**
 * MessagePack for channel values: one shared encoder (its buffer is reused, so
 * encoding allocates only the returned copy) and a decoder that decodes only
 * what {@link scanValue} has checked: no declared length past the bytes there,
 * nesting and item counts within `maxDepth` and `maxElements`, so a hostile
 * value cannot make it allocate or spin past those bounds.
 */
export class ValueCodec {
  private readonly encoder = new Encoder({ initialBufferSize: 64 * 1024 });
  /** Values and control frames get a decoder each, so each stays monomorphic and warm. */
  private readonly decoder: Decoder;
  private readonly controlDecoder: Decoder;
  readonly maxFrameBytes: number;
  /** What a received value may cost: checked before decoding. */
  readonly limits: Readonly<ValueLimits>;

  /** @param config Limits; a number is `maxFrameBytes` (the older signature). */
  constructor(config: ValueCodecConfig | number = {}) {
    const c = typeof config === 'number' ? { maxFrameBytes: config } : config;
    const max = (this.maxFrameBytes = c.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.limits = { maxDepth: c.maxDepth ?? DEFAULT_MAX_DEPTH, maxElements: c.maxElements ?? DEFAULT_MAX_ELEMENTS };
    // scanValue has checked every length already; these are a second fence.
    const items = this.limits.maxElements;
    const limits = { maxStrLength: max, maxBinLength: max, maxArrayLength: items, maxMapLength: items, maxExtLength: max };
    this.decoder = new Decoder(limits);
    this.controlDecoder = new Decoder(limits);
  }

  /**
   * Encodes `value` into a new Uint8Array the caller owns.
   * @throws NetchanError `'ETOOBIG'` when it would not fit in one frame.
   */
  encode(value: unknown, channel: string, limit = this.maxFrameBytes): Uint8Array {
    // Binary values are framed by hand: one copy instead of two (encoder buffer, then slice).
    if (value instanceof Uint8Array) return encodeBin(value, channel, limit);
    let ref: Uint8Array;
    try {
      ref = this.encoder.encodeSharedRef(value);
    } catch (e) {
      throw new NetchanError('EPROTO', `channel "${channel}": value cannot be encoded: ${(e as Error).message}`, { cause: e });
    }
    if (ref.length + DATA_HEADER_MAX > limit) {
      throw new NetchanError(
        'ETOOBIG',
        `channel "${channel}": value encodes to ${ref.length} bytes (${ref.length + DATA_HEADER_MAX} with header) > maxFrameBytes (${limit})`,
      );
    }
    return ref.slice();
  }

  /**
   * Decodes one value. A value holding `bin` or `ext` data is decoded from a
   * copy of its bytes when they fill less than half of the buffer they sit in
   * (a frame in a large socket read), so a held `Uint8Array` keeps alive at
   * most twice its value's encoding, never the read it came in.
   * @throws NetchanError `'EPROTO'` on invalid input, `'ETOOBIG'` over `maxDepth` or `maxElements`.
   */
  decode(bytes: Uint8Array, channel: string): unknown {
    const what = `channel "${channel}": `;
    const copy = this.check(bytes, what) && pins(bytes);
    try {
      return this.decoder.decode(copy ? bytes.slice() : bytes);
    } catch (e) {
      throw new NetchanError('EPROTO', `${what}malformed value: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Encodes a control frame body (not size-checked: control frames are small). */
  encodeControl(frame: readonly unknown[]): Uint8Array {
    return this.encoder.encodeSharedRef(frame);
  }

  /**
   * Decodes a control frame body, under the same limits and copying rule as {@link decode}.
   * @throws NetchanError `'EPROTO'` on invalid input, `'ETOOBIG'` over `maxDepth` or `maxElements`.
   */
  decodeControl(bytes: Uint8Array): unknown {
    const copy = this.check(bytes, '') && pins(bytes);
    try {
      return this.controlDecoder.decode(copy ? bytes.slice() : bytes);
    } catch (e) {
      throw new NetchanError('EPROTO', `malformed frame: ${(e as Error).message}`, { cause: e });
    }
  }

  /** scanValue with the codec's limits and a message naming what was decoded; true if it holds bin/ext. */
  private check(bytes: Uint8Array, what: string): boolean {
    try {
      return scanValue(bytes, this.limits);
    } catch (e) {
      const err = e as NetchanError;
      const kind = what === '' ? 'frame' : 'value';
      const detail = err.code === 'ETOOBIG' ? `${kind} over the decoding limits: ${err.message}` : `malformed ${kind}: ${err.message}`;
      throw new NetchanError(err.code, what + detail);
    }
  }
}

/** True when views into `bytes` would keep alive more than twice its size. */
function pins(bytes: Uint8Array): boolean {
  return bytes.byteLength * 2 < bytes.buffer.byteLength;
}

/** MessagePack `bin 8/16/32` around a copy of `bytes` (what the encoder would produce). */
function encodeBin(bytes: Uint8Array, channel: string, limit: number): Uint8Array {
  const n = bytes.length;
  const head = n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  if (head + n + DATA_HEADER_MAX > limit) {
    throw new NetchanError(
      'ETOOBIG',
      `channel "${channel}": value encodes to ${head + n} bytes (${head + n + DATA_HEADER_MAX} with header) > maxFrameBytes (${limit})`,
    );
  }
  const out = new Uint8Array(head + n);
  if (head === 2) {
    out[0] = 0xc4;
    out[1] = n;
  } else if (head === 3) {
    out[0] = 0xc5;
    out[1] = n >>> 8;
    out[2] = n & 0xff;
  } else {
    out[0] = 0xc6;
    out[1] = n >>> 24;
    out[2] = (n >>> 16) & 0xff;
    out[3] = (n >>> 8) & 0xff;
    out[4] = n & 0xff;
  }
  out.set(bytes, head);
  return out;
}
