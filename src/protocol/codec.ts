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
  private readonly decoder: Decoder;

  constructor(readonly maxFrameBytes: number) {
    const max = maxFrameBytes;
    this.decoder = new Decoder({
      maxStrLength: max,
      maxBinLength: max,
      maxArrayLength: max,
      maxMapLength: max,
      maxExtLength: max,
    });
  }

  /**
   * Encodes `value` into a new Uint8Array the caller owns.
   * @throws NetchanError `'ETOOBIG'` when it would not fit in one frame.
   */
  encode(value: unknown, channel: string, limit = this.maxFrameBytes): Uint8Array {
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
      return this.decoder.decode(bytes);
    } catch (e) {
      throw new NetchanError('EPROTO', `malformed frame: ${(e as Error).message}`, { cause: e });
    }
  }
}
