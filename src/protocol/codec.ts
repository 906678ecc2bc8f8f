import { Decoder, type Encoder } from '@msgpack/msgpack';
import { NetchanError } from '../errors/NetchanError.js';
import { findUnencodable } from './findUnencodable.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_ELEMENTS, DEFAULT_MAX_FRAME_BYTES, type ValueLimits } from './limits.js';
import { scan } from './scanValue.js';
import { createValueEncoder } from './valueEncoder.js';
import { NestedCodec, ValueExtensionCodec, type ChannelEndHooks, type ValueCodecContext, type ValueExtension } from './valueExtensions.js';

/** Room kept in a frame for its header: array marker, type, id (uint32). */
export const DATA_HEADER_MAX = 2 + 5;

/**
 * A `Uint8Array` value on its way out as MessagePack `bin`, without a copy: a
 * view of the caller's own bytes (which must therefore not change until the
 * value is acknowledged: see the README, "What crosses the wire"). Its `bin`
 * header is written in front of it when its frame is written
 * ({@link writeBinHeader}); its encoded size is {@link encodedLength}. A
 * payload that is not a BinPayload is a complete MessagePack encoding.
 */
export class BinPayload extends Uint8Array {
  /** Bytes of the `bin` header in front of it: 2, 3 or 5. */
  get head(): number {
    return binHeadSize(this.length);
  }
}

/** Bytes `payload` takes on the wire (its value's whole MessagePack encoding). */
export function encodedLength(payload: Uint8Array): number {
  return payload instanceof BinPayload ? binHeadSize(payload.length) + payload.length : payload.length;
}

/** Writes the `bin 8/16/32` header of an `n`-byte value at `at`; returns the position after it. */
export function writeBinHeader(out: Uint8Array, at: number, n: number): number {
  if (n < 0x100) {
    out[at] = 0xc4;
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    out[at] = 0xc5;
    out[at + 1] = n >>> 8;
    out[at + 2] = n & 0xff;
    return at + 3;
  }
  out[at] = 0xc6;
  out[at + 1] = n >>> 24;
  out[at + 2] = (n >>> 16) & 0xff;
  out[at + 3] = (n >>> 8) & 0xff;
  out[at + 4] = n & 0xff;
  return at + 5;
}

/** A payload's complete MessagePack encoding as one array (a copy for a {@link BinPayload}, else itself). */
export function payloadBytes(payload: Uint8Array): Uint8Array {
  if (!(payload instanceof BinPayload)) return payload;
  const out = new Uint8Array(encodedLength(payload));
  out.set(payload, writeBinHeader(out, 0, payload.length));
  return out;
}

function binHeadSize(n: number): number {
  return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

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
   * Encodes `value` into a new Uint8Array the caller owns; a `Uint8Array`
   * value is not copied: it becomes a {@link BinPayload} over the same bytes.
   * @throws NetchanError `'ETOOBIG'` when it would not fit in one frame, `'EINVAL'`
   * when part of it cannot be encoded (a function, a symbol, a cycle): the message
   * names the channel and the path, e.g. `channel "jobs": value.items[2].cb: a function cannot be encoded`.
   */
  encode(value: unknown, channel: string, limit = this.maxFrameBytes): Uint8Array {
    // Binary values are kept as they are (no snapshot); the writer frames them as `bin`.
    if (value instanceof Uint8Array) return binPayload(value, channel, limit);
    let out: Uint8Array;
    try {
      // The encoder's `encode` copies its reused buffer out once (no shared view first).
      out = this.encoder.encode(value);
    } catch (e) {
      throw this.unencodable(e, value, `channel "${channel}"`, 'value');
    }
    if (out.length + DATA_HEADER_MAX > limit) {
      throw new NetchanError(
        'ETOOBIG',
        `channel "${channel}": value encodes to ${out.length} bytes (${out.length + DATA_HEADER_MAX} with header) > maxFrameBytes (${limit})`,
      );
    }
    return out;
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
    // A value that never left the process (a local channel pair): its receiver gets its own copy.
    if (bytes instanceof BinPayload) return new Uint8Array(bytes);
    // (The channel's name goes into a message only on failure: no string built per value.)
    const copy = this.check(bytes, channel) && pins(bytes);
    this.extensionCodec.decodingFor = session;
    try {
      return this.decoder.decode(copy ? bytes.slice() : bytes);
    } catch (e) {
      throw new NetchanError((e as { code?: unknown }).code === 'ETOOBIG' ? 'ETOOBIG' : 'EPROTO', `channel "${channel}": malformed value: ${(e as Error).message}`, { cause: e });
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
    const copy = this.check(bytes, null) && pins(bytes);
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
  private check(bytes: Uint8Array, channel: string | null): boolean {
    try {
      const found = scan(bytes, this.limits);
      this.context.startValue(this.limits.maxElements - found.elements);
      return found.binary;
    } catch (e) {
      const err = e as NetchanError;
      const kind = channel === null ? 'frame' : 'value';
      const detail = err.code === 'ETOOBIG' ? `${kind} over the decoding limits: ${err.message}` : `malformed ${kind}: ${err.message}`;
      throw new NetchanError(err.code, (channel === null ? '' : `channel "${channel}": `) + detail);
    }
  }
}

/** True when views into `bytes` would keep alive more than twice its size. */
function pins(bytes: Uint8Array): boolean {
  return bytes.byteLength * 2 < bytes.buffer.byteLength;
}

/** `bytes` as a {@link BinPayload} (a view, no copy), after checking that its encoding fits in a frame. */
function binPayload(bytes: Uint8Array, channel: string, limit: number): BinPayload {
  const n = bytes.length;
  const head = binHeadSize(n);
  if (head + n + DATA_HEADER_MAX > limit) {
    throw new NetchanError(
      'ETOOBIG',
      `channel "${channel}": value encodes to ${head + n} bytes (${head + n + DATA_HEADER_MAX} with header) > maxFrameBytes (${limit})`,
    );
  }
  return new BinPayload(bytes.buffer as ArrayBuffer, bytes.byteOffset, n);
}
