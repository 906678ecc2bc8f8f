import { Decoder, type Encoder } from '@msgpack/msgpack';
import { NetchanError } from '../errors/NetchanError.js';
import { findUnencodable } from './findUnencodable.js';
import { createValueEncoder } from './valueEncoder.js';
import { NestedCodec, ValueExtensionCodec, type ValueCodecContext, type ValueExtension } from './valueExtensions.js';

/** Room kept in a frame for its header: array marker, type, id (uint32). */
export const DATA_HEADER_MAX = 2 + 5;

/** Options of a {@link ValueCodec}. */
export interface ValueCodecConfig {
  /** MessagePack extensions for the user's own types (types 0–0x6f). Defaults to none. */
  extensions?: readonly ValueExtension[];
}

/**
 * MessagePack for channel values: one shared encoder (its buffer is reused, so
 * encoding allocates only the returned copy) and a decoder whose limits follow
 * the frame limit, so a hostile frame cannot make it allocate past it.
 *
 * Beyond plain MessagePack: `Map`, `Set`, `BigInt` and `Error` travel as
 * themselves (extension types 0x70–0x73), `undefined` object properties are
 * left out, and the user's extensions come first (see valueExtensions.ts).
 */
export class ValueCodec {
  private readonly extensionCodec: ValueExtensionCodec;
  /** What extension encoders and decoders get as `context`: nested encode/decode with the same rules. */
  private readonly context: ValueCodecContext;
  private readonly encoder: Encoder<ValueCodecContext>;
  /** Values and control frames get a decoder each, so each stays monomorphic and warm. */
  private readonly decoder: Decoder<ValueCodecContext>;
  private readonly controlDecoder: Decoder<ValueCodecContext>;

  /** @throws NetchanError `'EINVAL'` for an extension type outside 0–0x6f or registered twice. */
  constructor(
    readonly maxFrameBytes: number,
    config: ValueCodecConfig = {},
  ) {
    const max = maxFrameBytes;
    const limits = { maxStrLength: max, maxBinLength: max, maxArrayLength: max, maxMapLength: max, maxExtLength: max };
    const extensionCodec = new ValueExtensionCodec(config.extensions);
    const context = new NestedCodec(extensionCodec, limits);
    this.extensionCodec = extensionCodec;
    this.context = context;
    this.encoder = createValueEncoder({ extensionCodec, context, initialBufferSize: 64 * 1024 });
    this.decoder = new Decoder({ extensionCodec, context, ...limits });
    this.controlDecoder = new Decoder({ extensionCodec, context, ...limits });
  }

  /**
   * Encodes `value` into a new Uint8Array the caller owns.
   * @throws NetchanError `'ETOOBIG'` when it would not fit in one frame, `'EINVAL'`
   * when part of it cannot be encoded (a function, a symbol, a cycle): the message
   * names the channel and the path, e.g. `channel "jobs": value.items[2].cb: a function cannot be encoded`.
   */
  encode(value: unknown, channel: string, limit = this.maxFrameBytes): Uint8Array {
    // Binary values are framed by hand: one copy instead of two (encoder buffer, then slice).
    if (value instanceof Uint8Array) return encodeBin(value, channel, limit);
    let ref: Uint8Array;
    try {
      ref = this.encoder.encodeSharedRef(value);
    } catch (e) {
      throw this.unencodable(e, value, `channel "${channel}"`, 'value');
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

  /**
   * Encodes a control frame body (not size-checked: control frames are small).
   * @throws NetchanError `'EINVAL'` when a value in it (an importer's `auth`) cannot be encoded.
   */
  encodeControl(frame: readonly unknown[]): Uint8Array {
    try {
      return this.encoder.encodeSharedRef(frame);
    } catch (e) {
      throw this.unencodable(e, frame, 'control frame', 'frame');
    }
  }

  /** The EINVAL for a value the encoder refused, naming the first bad field; walks the value only now, on failure. */
  private unencodable(e: unknown, value: unknown, where: string, root: string): NetchanError {
    const bad = findUnencodable(value, this.extensionCodec, this.context, root);
    const detail = bad ? `${bad.path}: ${bad.reason}` : `${root} cannot be encoded: ${(e as Error).message}`;
    return new NetchanError('EINVAL', `${where}: ${detail}`, { cause: e });
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
