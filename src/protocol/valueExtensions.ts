import {
  DecodeError,
  Decoder,
  EXT_TIMESTAMP,
  ExtData,
  type Encoder,
  decodeTimestampExtension,
  encodeTimestampExtension,
  type ExtensionCodecType,
} from '@msgpack/msgpack';
import { NetchanError } from '../errors/NetchanError.js';
import type { ValueLimits } from './limits.js';
import { scan } from './scanValue.js';
import { createValueEncoder } from './valueEncoder.js';

/** MessagePack extension types rx-netchan uses for values MessagePack has no type for. 0x70–0x7f are reserved. */
export const ValueExtType = {
  /** `Map`: an array `[k0, v0, k1, v1, …]`. */
  Map: 0x70,
  /** `Set`: an array of its elements. */
  Set: 0x71,
  /** `BigInt`: its value in hexadecimal ASCII, `-` first when negative (`-1f`). */
  BigInt: 0x72,
  /** `Error`: a map `{ name, message, code?, cause? }`. */
  Error: 0x73,
  /** A channel end (channelPair): an array `[kind, id, size, manual]`, bound back over the connection that carried it. */
  ChannelEnd: 0x7f,
} as const;

/**
 * How channel ends inside values are written and read (src/ends implements it
 * for each endpoint). The protocol layer only knows that some objects are
 * ends and that a reference turns back into one.
 */
export interface ChannelEndHooks {
  /** True for a channel end. */
  isEnd(value: object): boolean;
  /** An end found inside a value being encoded: what to write for it (it travels now). */
  offer(end: object): unknown;
  /** A reference read inside a value received over `session` (null: a value that never left this process). */
  materialize(ref: unknown, session: unknown): unknown;
}

/** First extension type reserved for rx-netchan; user extensions use 0 to 0x6f. */
export const FIRST_RESERVED_EXT_TYPE = 0x70;

/** Most extension values nested inside one another (a Map in a Set in an Error …), encoding or decoding. */
export const MAX_EXT_DEPTH = 100;

/**
 * What extension encoders and decoders receive as their `context`: the codec
 * itself, to encode or decode a nested value with the same rules (the built-in
 * types and every registered extension).
 */
export interface ValueCodecContext {
  /** Encodes `value` as one MessagePack item, with the same extensions. */
  encode(value: unknown): Uint8Array;
  /** Decodes one MessagePack item written by {@link ValueCodecContext.encode}. */
  decode(data: Uint8Array): unknown;
}

/**
 * A MessagePack extension for values of your own types, as in
 * `@msgpack/msgpack`'s `ExtensionCodec.register()`: `encode` returns the bytes
 * for values it handles and `null` for any other; `decode` turns those bytes
 * back into a value. Both sides of a connection must register the same
 * extensions (the `extensions` option of Exporter and Importer).
 *
 * ## Example
 * ```ts
 * class Money { constructor(readonly cents: bigint, readonly currency: string) {} }
 * const money: ValueExtension<Money> = {
 *   type: 0x01,
 *   encode: (v, codec) => (v instanceof Money ? codec.encode([v.cents, v.currency]) : null),
 *   decode: (data, _type, codec) => {
 *     const [cents, currency] = codec.decode(data) as [bigint, string];
 *     return new Money(cents, currency);
 *   },
 * };
 * const exporter = new Exporter({ extensions: [money] });
 * ```
 */
export interface ValueExtension<T = unknown> {
  /** The extension type, 0 to 0x6f (0x70–0x7f are reserved for rx-netchan). */
  readonly type: number;
  /** The bytes for `value`, or `null` when this extension does not handle it. Tried before the built-in types. */
  readonly encode: (value: unknown, context: ValueCodecContext) => Uint8Array | null | undefined;
  /** The value for the bytes `encode` produced. */
  readonly decode: (data: Uint8Array, extensionType: number, context: ValueCodecContext) => T;
}

/** Limits of the nested decoder: the same as the frame decoder's. */
export interface ValueDecodeLimits {
  readonly maxStrLength: number;
  readonly maxBinLength: number;
  readonly maxArrayLength: number;
  readonly maxMapLength: number;
  readonly maxExtLength: number;
}

const hex = /^-?[0-9a-f]+$/;
const OBJECT_PROTO = Object.prototype;
const ARRAY_PROTO = Array.prototype;

/** Error classes recreated by name on arrival; any other name arrives as an `Error` with that name. */
const ERROR_CLASSES: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

/**
 * The MessagePack extension codec of channel values: the user's extensions
 * first, then `Date` (the standard timestamp), `Map`, `Set`, `BigInt` and
 * `Error` (see {@link ValueExtType}).
 *
 * Plain objects and arrays are the hot path: MessagePack asks the extension
 * codec about each one, and for them this answers after a prototype check.
 */
export class ValueExtensionCodec implements ExtensionCodecType<ValueCodecContext> {
  private readonly user: readonly ValueExtension[];
  private readonly userDecoders = new Map<number, ValueExtension['decode']>();
  /** Errors being encoded now, so a cycle of causes ends instead of recursing. */
  private readonly errorsInProgress = new Set<Error>();

  /** @throws NetchanError `'EINVAL'` for an extension type outside 0–0x6f, or registered twice. */
  constructor(extensions: readonly ValueExtension[] = []) {
    for (const ext of extensions) {
      const t = ext?.type;
      if (!Number.isInteger(t) || t < 0 || t >= FIRST_RESERVED_EXT_TYPE) {
        const shown = typeof t === 'number' && Number.isInteger(t) && t >= 0 ? `0x${t.toString(16)}` : String(t);
        throw new NetchanError('EINVAL', `extension type ${shown} is not available: use 0 to 0x6f (0x70–0x7f are reserved for rx-netchan)`);
      }
      if (typeof ext.encode !== 'function' || typeof ext.decode !== 'function') {
        throw new NetchanError('EINVAL', `extension type 0x${t.toString(16)} needs an encode and a decode function`);
      }
      if (this.userDecoders.has(t)) throw new NetchanError('EINVAL', `extension type 0x${t.toString(16)} is registered twice`);
      this.userDecoders.set(t, ext.decode);
    }
    this.user = [...extensions];
    this.hasUserExtensions = this.user.length > 0;
  }

  /** True when at least one user extension is registered (each then sees every object). */
  readonly hasUserExtensions: boolean;

  /** Channel ends inside values: set by the endpoint that owns this codec. */
  ends: ChannelEndHooks | null = null;
  /** The session whose value is being decoded now (channel ends bind back over it). */
  decodingFor: unknown = null;

  /** The user extension that claims `value`, if any (for error reports). */
  userExtensionFor(value: unknown, context: ValueCodecContext): ValueExtension | undefined {
    return this.user.find((ext) => ext.encode(value, context) != null);
  }

  tryToEncode(object: unknown, context: ValueCodecContext): ExtData | null {
    if (this.hasUserExtensions) {
      const ext = this.tryUser(object, context);
      if (ext !== null) return ext;
    }
    if (typeof object !== 'object') {
      return typeof object === 'bigint' ? new ExtData(ValueExtType.BigInt, encodeBigInt(object)) : null;
    }
    // Plain objects and arrays: no extension applies (the common case, kept short).
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto === OBJECT_PROTO || proto === ARRAY_PROTO || proto === null) return null;
    if (this.ends !== null && object !== null && this.ends.isEnd(object)) return new ExtData(ValueExtType.ChannelEnd, context.encode(this.ends.offer(object)));
    if (object instanceof Date) return new ExtData(EXT_TIMESTAMP, encodeTimestampExtension(object)!);
    if (object instanceof Map) return new ExtData(ValueExtType.Map, context.encode(flattenMap(object)));
    if (object instanceof Set) return new ExtData(ValueExtType.Set, context.encode([...object]));
    if (object instanceof Error) return new ExtData(ValueExtType.Error, this.encodeError(object, context));
    if (object instanceof ExtData) return object;
    return null;
  }

  private tryUser(object: unknown, context: ValueCodecContext): ExtData | null {
    const user = this.user;
    for (let i = 0; i < user.length; i++) {
      const ext = user[i]!;
      const data = ext.encode(object, context);
      if (data != null) return new ExtData(ext.type, data);
    }
    return null;
  }

  decode(data: Uint8Array, type: number, context: ValueCodecContext): unknown {
    switch (type) {
      case EXT_TIMESTAMP:
        return decodeTimestampExtension(data);
      case ValueExtType.Map:
        return decodeMap(context.decode(data));
      case ValueExtType.Set: {
        const items = context.decode(data);
        if (!Array.isArray(items)) throw new DecodeError('Set extension: expected an array');
        return new Set(items);
      }
      case ValueExtType.BigInt:
        return decodeBigInt(data);
      case ValueExtType.Error:
        return decodeError(context.decode(data));
      case ValueExtType.ChannelEnd:
        if (this.ends === null) throw new DecodeError('a channel end arrived where none can be bound');
        return this.ends.materialize(context.decode(data), this.decodingFor);
      default: {
        const decode = this.userDecoders.get(type);
        // An unknown type stays an ExtData, as in @msgpack/msgpack: the receiver may not know every sender's types.
        return decode ? decode(data, type, context) : new ExtData(type, data);
      }
    }
  }

  /** `{ name, message, code?, cause? }`; a cause that cannot be encoded (or loops back) is left out. */
  private encodeError(e: Error, context: ValueCodecContext): Uint8Array {
    const out: Record<string, unknown> = { name: String(e.name), message: String(e.message) };
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') out['code'] = code;
    const cause = (e as { cause?: unknown }).cause;
    this.errorsInProgress.add(e);
    try {
      if (cause !== undefined && !(cause instanceof Error && this.errorsInProgress.has(cause))) {
        try {
          return context.encode({ ...out, cause });
        } catch {
          // Fall through: the error itself still crosses, without its cause.
        }
      }
      return context.encode(out);
    } finally {
      this.errorsInProgress.delete(e);
    }
  }
}

function flattenMap(map: Map<unknown, unknown>): unknown[] {
  const out = new Array<unknown>(map.size * 2);
  let i = 0;
  for (const [k, v] of map) {
    out[i++] = k;
    out[i++] = v;
  }
  return out;
}

function decodeMap(items: unknown): Map<unknown, unknown> {
  if (!Array.isArray(items) || items.length % 2 !== 0) throw new DecodeError('Map extension: expected an array of key, value pairs');
  const map = new Map<unknown, unknown>();
  for (let i = 0; i < items.length; i += 2) map.set(items[i], items[i + 1]);
  return map;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeBigInt(n: bigint): Uint8Array {
  return encoder.encode(n < 0n ? `-${(-n).toString(16)}` : n.toString(16));
}

function decodeBigInt(data: Uint8Array): bigint {
  const text = decoder.decode(data);
  // Hexadecimal: parsing it is linear in its length (decimal is not).
  if (!hex.test(text)) throw new DecodeError('BigInt extension: expected hexadecimal digits');
  return text.startsWith('-') ? -BigInt(`0x${text.slice(1)}`) : BigInt(`0x${text}`);
}

function decodeError(fields: unknown): Error {
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) throw new DecodeError('Error extension: expected a map');
  const { name, message, code, cause } = fields as Record<string, unknown>;
  if (typeof name !== 'string' || typeof message !== 'string') throw new DecodeError('Error extension: name and message must be strings');
  const Ctor = Object.hasOwn(ERROR_CLASSES, name) ? ERROR_CLASSES[name]! : Error;
  const e = cause === undefined ? new Ctor(message) : new Ctor(message, { cause });
  if (e.name !== name) e.name = name;
  if (typeof code === 'string') (e as Error & { code?: string }).code = code;
  // The stack stays on the sender: a local one would point into the decoder.
  e.stack = `${name}: ${message}\n    at (received from the peer)`;
  return e;
}

/**
 * The {@link ValueCodecContext} of one codec: nested encoder and decoder with
 * the same extensions and limits, and a depth count so that a value that
 * contains itself (a Map holding itself) ends in an error, not a stack overflow.
 */
export class NestedCodec implements ValueCodecContext {
  private readonly encoder: Encoder<ValueCodecContext>;
  private readonly decoder: Decoder<ValueCodecContext>;
  private depth = 0;
  /** Items the value being decoded may still have: nested values inside extensions share the whole value's budget. */
  private budget = Infinity;

  constructor(
    extensionCodec: ValueExtensionCodec,
    limits: ValueDecodeLimits,
    private readonly valueLimits: ValueLimits | null = null,
  ) {
    this.encoder = createValueEncoder({ extensionCodec, context: this, initialBufferSize: 256 });
    this.decoder = new Decoder({ extensionCodec, context: this, ...limits });
  }

  /** A top-level value is about to be decoded; `budget` items are left for what nests inside its extensions. */
  startValue(budget: number): void {
    this.budget = budget;
  }

  encode(value: unknown): Uint8Array {
    if (this.depth >= MAX_EXT_DEPTH) throw new Error(`Too deep objects: extension values nested more than ${MAX_EXT_DEPTH} deep`);
    this.depth++;
    try {
      return this.encoder.encode(value);
    } finally {
      this.depth--;
    }
  }

  decode(data: Uint8Array): unknown {
    if (this.depth >= MAX_EXT_DEPTH) throw new DecodeError(`extension values nested more than ${MAX_EXT_DEPTH} deep`);
    if (this.valueLimits !== null) {
      // The same checks as the outer value, before decoding; its items count against what the outer value left.
      const found = scan(data, { maxDepth: this.valueLimits.maxDepth, maxElements: this.budget });
      this.budget -= found.elements;
    }
    this.depth++;
    try {
      return this.decoder.decode(data);
    } finally {
      this.depth--;
    }
  }
}
