import { Decoder, Encoder } from '@msgpack/msgpack';
import { NetchanError } from '../errors/NetchanError.js';

/** Room kept in a frame for its header: array marker, type, id (uint32). */
export const DATA_HEADER_MAX = 2 + 5;

/**
 * MessagePack for channel values: one shared encoder (its buffer is reused, so
 * encoding allocates only the returned copy) and a decoder whose limits follow
 * the frame limit, so a hostile frame cannot make it allocate past it.
 */
export class ValueCodec {
  private readonly encoder = new Encoder({ initialBufferSize: 64 * 1024 });
  /** Values and control frames get a decoder each, so each stays monomorphic and warm. */
  private readonly decoder: Decoder;
  private readonly controlDecoder: Decoder;

  constructor(readonly maxFrameBytes: number) {
    const max = maxFrameBytes;
    const limits = { maxStrLength: max, maxBinLength: max, maxArrayLength: max, maxMapLength: max, maxExtLength: max };
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

  /** Decodes one value; throws NetchanError `'EPROTO'` on invalid input. */
  decode(bytes: Uint8Array, channel: string): unknown {
    try {
      return this.decoder.decode(bytes);
    } catch (e) {
      throw new NetchanError('EPROTO', `channel "${channel}": malformed value: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Encodes a control frame body (not size-checked: control frames are small). */
  encodeControl(frame: readonly unknown[]): Uint8Array {
    return this.encoder.encodeSharedRef(frame);
  }

  /** Decodes a control frame body. */
  decodeControl(bytes: Uint8Array): unknown {
    try {
      return this.controlDecoder.decode(bytes);
    } catch (e) {
      throw new NetchanError('EPROTO', `malformed frame: ${(e as Error).message}`, { cause: e });
    }
  }
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
