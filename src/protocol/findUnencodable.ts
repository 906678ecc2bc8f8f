import { ExtData } from '@msgpack/msgpack';
import type { ValueCodecContext, ValueExtensionCodec } from './valueExtensions.js';

/** Where a value cannot be encoded, and why. */
export interface Unencodable {
  /** JavaScript-like path from the root: `value.items[2].cb`, `value.m.get("k")`, `value.s.values()[0]`. */
  readonly path: string;
  /** `a function cannot be encoded`, … */
  readonly reason: string;
}

/** Deepest nesting MessagePack encodes (`@msgpack/msgpack`'s default maxDepth). */
const MAX_DEPTH = 100;

const identifier = /^[A-Za-z_$][\w$]*$/;

/**
 * Finds the first part of `value` that cannot be encoded, following the rules
 * the encoder applies. Called only after encoding failed, so that plain values
 * are never walked twice.
 */
export function findUnencodable(value: unknown, codec: ValueExtensionCodec, context: ValueCodecContext, root = 'value'): Unencodable | null {
  const ancestors = new Set<object>();

  const walk = (v: unknown, path: string, depth: number): Unencodable | null => {
    if (v === null || v === undefined) return null;
    const t = typeof v;
    if (t === 'boolean' || t === 'number' || t === 'string') return null;
    if (codec.hasUserExtensions) {
      try {
        if (codec.userExtensionFor(v, context)) return null;
      } catch (e) {
        return { path, reason: `an extension failed to encode it: ${(e as Error).message}` };
      }
    }
    if (t === 'bigint') return null;
    if (t === 'function') return { path, reason: 'a function cannot be encoded' };
    if (t === 'symbol') return { path, reason: 'a symbol cannot be encoded' };
    const obj = v as object;
    if (depth > MAX_DEPTH) return { path, reason: `nested more than ${MAX_DEPTH} levels deep` };
    if (ancestors.has(obj)) return { path, reason: 'a circular reference cannot be encoded (the value contains itself)' };
    if (obj instanceof Date || ArrayBuffer.isView(obj) || obj instanceof ExtData || obj instanceof Error) return null;
    ancestors.add(obj);
    try {
      if (obj instanceof Map) {
        let i = 0;
        for (const [k, x] of obj) {
          const bad = walk(k, `${path}.keys()[${i}]`, depth + 1) ?? walk(x, `${path}${mapAccess(k, i)}`, depth + 1);
          if (bad) return bad;
          i++;
        }
        return null;
      }
      if (obj instanceof Set) {
        let i = 0;
        for (const x of obj) {
          const bad = walk(x, `${path}.values()[${i}]`, depth + 1);
          if (bad) return bad;
          i++;
        }
        return null;
      }
      if (Array.isArray(obj)) {
        for (let i = 0; i < obj.length; i++) {
          const bad = walk(obj[i], `${path}[${i}]`, depth + 1);
          if (bad) return bad;
        }
        return null;
      }
      for (const key of Object.keys(obj)) {
        const bad = walk((obj as Record<string, unknown>)[key], `${path}${identifier.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}`, depth + 1);
        if (bad) return bad;
      }
      return null;
    } finally {
      ancestors.delete(obj);
    }
  };

  return walk(value, root, 1);
}

function mapAccess(key: unknown, index: number): string {
  if (typeof key === 'string') return `.get(${JSON.stringify(key)})`;
  if (typeof key === 'number' || typeof key === 'boolean' || key === null) return `.get(${String(key)})`;
  return `.values()[${index}]`;
}
