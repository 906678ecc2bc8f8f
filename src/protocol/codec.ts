import { Decoder, type Encoder } from '@msgpack/msgpack';
import { NetchanError } from '../errors/NetchanError.js';
import { findUnencodable } from './findUnencodable.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_FRAME_BYTES, type ValueLimits } from './limits.js';
import { scan } from './scanValue.js';
import { createValueEncoder } from './valueEncoder.js';
import { NestedCodec, ValueExtensionCodec, type ChannelEndHooks, type ValueCodecContext, type ValueExtension } from './valueExtensions.js';

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
  /** MessagePack extensions for the user's own types (types 0–0x6f). Defaults to none. */
  extensions?: readonly ValueExtension[];
}

/**
 * MessagePack for channel values: one shared encoder (its buffer is reused, so
 * encoding allocates only the returned copy) and a decoder that decodes only
 * what {@link scan} has checked: no declared length past the bytes there,
 * nesting and item counts within `maxDepth` and `maxElements` (values nested
 * inside extensions included), so a hostile value cannot make it allocate or
 * spin past those bounds.
 *
 * Beyond plain MessagePack: `Map`, `Set`, `BigInt` and `Error` travel as
 * themselves (extension types 0x70–0x73), `undefined` object properties are
 * left out, and the user's extensions come first (see valueExtensions.ts).
 */
export class ValueCodec {
  private readonly extensionCodec: ValueExtensionCodec;
  /** What extension encoders and decoders get as `context`: nested encode/decode with the same rules. */
  private readonly context: NestedCodec;
  private readonly encoder: Encoder<ValueCodecContext>;
  /** Values and control frames get a decoder each, so each stays monomorphic and warm. */
  private readonly decoder: Decoder<ValueCodecContext>;
  private readonly controlDecoder: Decoder<ValueCodecContext>;
  readonly maxFrameBytes: number;
  /** What a received value may cost: checked before decoding. */
  readonly limits: Readonly<ValueLimits>;

  /**
   * @param config Limits and extensions; a number is `maxFrameBytes` (the older signature).
   * @throws NetchanError `'EINVAL'` for an extension type outside 0–0x6f or registered twice.
   */
  constructor(config: ValueCodecConfig | number = {}) {
    const c = typeof config === 'number' ? { maxFrameBytes: config } : config;
    const max = (this.maxFrameBytes = c.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
    this.limits = { maxDepth: c.maxDepth ?? DEFAULT_MAX_DEPTH, maxElements: c.maxElements ?? DEFAULT_MAX_ELEMENTS };
    // scan() has checked every length already; these are a second fence.
    const items = this.limits.maxElements;
    const limits = { maxStrLength: max, maxBinLength: max, maxArrayLength: items, maxMapLength: items, maxExtLength: max };
    const extensionCodec = new ValueExtensionCodec(c.extensions);
    const context = new NestedCodec(extensionCodec, limits, this.limits);
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

  /** Lets channel ends travel inside values encoded and decoded by this codec (an endpoint's). */
  setEndHooks(hooks: ChannelEndHooks): void {
    this.extensionCodec.ends = hooks;
  }

  /** The channel-end hooks in use (null: ends cannot travel), so a backend can wrap them. */
  get endHooks(): ChannelEndHooks | null {
    return this.extensionCodec.ends;
  }

  /**
   * Decodes one value. A value holding `bin` or `ext` data is decoded from a
   * copy of its bytes when they fill less than half of the buffer they sit in
   * (a frame in a large socket read), so a held `Uint8Array` keeps alive at
   * most twice its value's encoding, never the read it came in.
   * @throws NetchanError `'EPROTO'` on invalid input, `'ETOOBIG'` over `maxDepth` or `maxElements`.
   */
  decode(bytes: Uint8Array, channel: string, session: unknown = null): unknown {
    const what = `channel "${channel}": `;
    const copy = this.check(bytes, what) && pins(bytes);
    this.extensionCodec.decodingFor = session;
    try {
      return this.decoder.decode(copy ? bytes.slice() : bytes);
    } catch (e) {
      throw new NetchanError((e as { code?: unknown }).code === 'ETOOBIG' ? 'ETOOBIG' : 'EPROTO', `${what}malformed value: ${(e as Error).message}`, { cause: e });
    } finally {
      this.extensionCodec.decodingFor = null;
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

  /** The EINVAL for a value the encoder refused, naming the first bad field; walks the value only now, on failure. */
  private unencodable(e: unknown, value: unknown, where: string, root: string): NetchanError {
    const code = (e as { code?: unknown })?.code;
    if ((e as Error)?.name === 'NetchanError') {
      if (code === 'EPROTO') return e as NetchanError; // a channel end sent twice, say
      // Refused by the endpoint (a channel end where ends cannot travel): its own words, not a walk of the end's insides.
      if (code === 'EINVAL') return new NetchanError('EINVAL', `${where}: ${(e as Error).message}`, { cause: e });
    }
    const bad = findUnencodable(value, this.extensionCodec, this.context, root);
    const detail = bad ? `${bad.path}: ${bad.reason}` : `${root} cannot be encoded: ${(e as Error).message}`;
    return new NetchanError('EINVAL', `${where}: ${detail}`, { cause: e });
  }

  /** scan() with the codec's limits and a message naming what was decoded; true if it holds bin/ext. Sets the budget nested values share. */
  private check(bytes: Uint8Array, what: string): boolean {
    try {
      const found = scan(bytes, this.limits);
      this.context.startValue(this.limits.maxElements - found.elements);
      return found.binary;
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
