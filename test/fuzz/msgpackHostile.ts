// fast-check arbitraries for MessagePack values a hostile peer would send:
// legal but costly (nesting a million deep, a million keys, huge arrays),
// illegal in ways a decoder must survive (declared lengths past the end,
// truncated bodies, the never-used byte 0xc1, trailing bytes), and ext types.
// Each comes with a verdict the oracle uses.
import fc from 'fast-check';
import { Bytes, MAX_DECLARED, encodeValue, header, hex, type HeaderKind } from './msgpackBytes.js';

/**
 * What a receiver may do with the value:
 * - `valid`: well-formed and cheap: it must be accepted;
 * - `invalid`: malformed: it must be refused (EPROTO);
 * - `costly`: well-formed but expensive: accepted, or refused by a documented limit;
 * - `unknown`: the spec does not say (ext payloads the decoder may reject).
 */
export type Verdict = 'valid' | 'invalid' | 'costly' | 'unknown';

/** One generated value, as bytes, with how it was built. */
export interface HostileValue {
  readonly bytes: Uint8Array;
  readonly verdict: Verdict;
  /** The construction, e.g. `deep(array,1000000)`, for reports and for knownFindings.ts. */
  readonly label: string;
  /** Deepest nesting, most map keys, most array elements declared, in this value. */
  readonly depth: number;
  readonly keys: number;
  readonly elements: number;
  /** Largest array/map length declared beyond the bytes present (0: none). */
  readonly overDeclared: number;
}

/** Caps on what the arbitraries build (a short run keeps them small). */
export interface HostileLimits {
  /** Deepest nesting. */
  readonly maxDepth: number;
  /** Most keys in one map. */
  readonly maxKeys: number;
  /** Most elements in one array. */
  readonly maxElements: number;
  /** Largest array/map length declared past the end of the bytes present (0: none). */
  readonly maxOverDeclared: number;
  /** How many such headers may be nested. */
  readonly maxOverDeclaredNesting: number;
  /** Largest value in bytes (keep it under the frame limit). */
  readonly maxBytes: number;
}

/**
 * Up to these sizes a well-formed value must be accepted under any sane limit;
 * beyond them it is `costly`: accepted, or refused by a documented limit.
 */
export const ALWAYS_ACCEPTED = { depth: 16, keys: 256, elements: 4096 } as const;

/** Everything, up to what fits in one 16 MiB frame. */
export const FULL_LIMITS: HostileLimits = {
  maxDepth: 2_000_000,
  maxKeys: 1_500_000,
  maxElements: 4_000_000,
  maxOverDeclared: MAX_DECLARED[32],
  maxOverDeclaredNesting: 64,
  maxBytes: 15 * 1024 * 1024,
};

const plainLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  fc.constantFrom(0, -1, 127, 128, 255, 256, 65535, 65536, 2 ** 32, -(2 ** 31), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.uint8Array({ maxLength: 64 }),
  fc.date({ noInvalidDate: true }),
);

/** A map key the decoder takes: a string (not `__proto__`, which it refuses) or a number. */
const key = fc.oneof(fc.string({ maxLength: 12 }).filter((k) => k !== '__proto__'), fc.integer());

/** Ordinary values (any MessagePack the library's encoder writes). */
export const plainValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true, maxDepth: 5 },
    plainLeaf,
    fc.array(tie('v'), { maxLength: 6 }),
    fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => k !== '__proto__'), tie('v'), { maxKeys: 6, noNullPrototype: true }),
    fc.tuple(key, tie('v')).map(([k, v]) => new Map([[k, v]])),
  ),
})).v;

/** How fast-check prints a value in a counterexample: its construction and first bytes, not a megabyte of numbers. */
function described(v: HostileValue): HostileValue {
  return Object.defineProperty({ ...v }, fc.toStringMethod, { value: () => `${v.label} [${v.verdict}] ${hex(v.bytes, 24)}`, enumerable: false });
}

const valid = (bytes: Uint8Array, label: string, extra: Partial<HostileValue> = {}): HostileValue => ({
  bytes,
  verdict: 'valid',
  label,
  depth: 0,
  keys: 0,
  elements: 0,
  overDeclared: 0,
  ...extra,
});

/** Ordinary values, encoded. */
export const plainHostile: fc.Arbitrary<HostileValue> = plainValue.map((v) => described(valid(encodeValue(v), 'plain')));

/** Nesting `depth` containers of one element each, around a leaf. */
export function deepNesting(limits: HostileLimits): fc.Arbitrary<HostileValue> {
  return fc
    .record({
      depth: sizeUpTo(limits.maxDepth),
      container: fc.constantFrom('fixarray', 'array16', 'array32', 'fixmap', 'map32', 'mixed'),
    })
    .filter(({ depth, container }) => depth * bytesPerLevel(container) + 1 <= limits.maxBytes)
    .map(({ depth, container }) => {
      const out = new Bytes();
      if (container === 'fixarray') out.fill(0x91, depth);
      else if (container === 'mixed') for (let i = 0; i < depth; i++) i % 2 ? out.byte(0x91) : out.byte(0x81).byte(0x00);
      else
        for (let i = 0; i < depth; i++) {
          if (container === 'array16') header(out, 'array', 1, 16);
          else if (container === 'array32') header(out, 'array', 1, 32);
          else if (container === 'fixmap') out.byte(0x81).byte(0x00);
          else header(out, 'map', 1, 32).byte(0x00);
        }
      out.byte(0xc0);
      return { ...valid(out.done(), `deep(${container},${depth})`, { depth }), verdict: depth > ALWAYS_ACCEPTED.depth ? ('costly' as const) : ('valid' as const) };
    })
    .map(described);
}

function bytesPerLevel(container: string): number {
  return container === 'fixarray' ? 1 : container === 'array16' ? 3 : container === 'array32' ? 5 : container === 'map32' ? 6 : 2;
}

/** One map with `n` keys. */
export function manyKeys(limits: HostileLimits): fc.Arbitrary<HostileValue> {
  return fc
    .record({ n: sizeUpTo(limits.maxKeys), keys: fc.constantFrom('distinct', 'same', 'ints') })
    .filter(({ n }) => n * 10 + 5 <= limits.maxBytes)
    .map(({ n, keys }) => {
      const out = header(new Bytes(), 'map', n);
      for (let i = 0; i < n; i++) {
        if (keys === 'same') out.byte(0xa1).byte(0x6b); // "k" every time
        else if (keys === 'ints') out.byte(0xce).uint(i, 4);
        else {
          const k = `k${i}`;
          out.byte(0xa0 | k.length);
          for (let j = 0; j < k.length; j++) out.byte(k.charCodeAt(j));
        }
        out.byte(0xc0);
      }
      return { ...valid(out.done(), `keys(${keys},${n})`, { keys: n }), verdict: n > ALWAYS_ACCEPTED.keys ? ('costly' as const) : ('valid' as const) };
    })
    .map(described);
}

/** One array of `n` small elements. */
export function wideArray(limits: HostileLimits): fc.Arbitrary<HostileValue> {
  return fc
    .record({ n: sizeUpTo(limits.maxElements), leaf: fc.constantFrom(0xc0, 0x00, 0x90) })
    .filter(({ n }) => n + 5 <= limits.maxBytes)
    .map(({ n, leaf }) => {
      const out = header(new Bytes(), 'array', n).fill(leaf, n);
      return { ...valid(out.done(), `wide(${n})`, { elements: n }), verdict: n > ALWAYS_ACCEPTED.elements ? ('costly' as const) : ('valid' as const) };
    })
    .map(described);
}

/**
 * Headers that declare more than the bytes present: an array/map/str/bin/ext
 * of `declared` entries, nested `nest` times, then the value ends. Malformed:
 * a length can never exceed what is left of the frame.
 */
export function overDeclared(limits: HostileLimits): fc.Arbitrary<HostileValue> {
  const containers = limits.maxOverDeclared > 0;
  return fc
    .record({
      kind: containers
        ? fc.oneof({ weight: 3, arbitrary: fc.constant<HeaderKind>('array') }, { weight: 1, arbitrary: fc.constantFrom<HeaderKind>('map', 'str', 'bin', 'ext') })
        : fc.constantFrom<HeaderKind>('str', 'bin', 'ext'),
      width: fc.constantFrom<8 | 16 | 32>(8, 16, 32),
      // Every order of magnitude up to 2^32 (a decoder may take some and refuse others).
      declared: fc.oneof(sizeUpTo(0xffffffff), fc.integer({ min: 1, max: 0xffffffff }), fc.constantFrom(0x00ffffff, 0xffffffff, 0xffff, 0x7fffffff)),
      nest: fc.integer({ min: 1, max: Math.max(1, limits.maxOverDeclaredNesting) }),
      tail: fc.uint8Array({ maxLength: 8 }),
    })
    .map(({ kind, width, declared, nest, tail }) => {
      const isContainer = kind === 'array' || kind === 'map';
      const w = isContainer && width === 8 ? 16 : width;
      const cap = isContainer ? Math.min(limits.maxOverDeclared, MAX_DECLARED[w]) : MAX_DECLARED[w];
      const n = Math.max(tail.length + 1, Math.min(declared, cap));
      const levels = isContainer ? nest : 1;
      const out = new Bytes();
      for (let i = 0; i < levels; i++) header(out, kind, n, w);
      out.bytes(tail);
      return {
        bytes: out.done(),
        verdict: 'invalid' as const,
        label: `declared(${kind}${w},${n}x${levels})`,
        depth: isContainer ? levels : 0,
        keys: kind === 'map' ? n : 0,
        elements: kind === 'array' ? n : 0,
        overDeclared: isContainer ? n : 0,
      };
    })
    .map(described);
}

/**
 * Ext values: unknown types (decoded as ExtData), the timestamp type (-1) with
 * odd sizes, and rx-netchan's own types (0x70–0x7f: Map, Set, BigInt, Error,
 * channel ends) with arbitrary payloads, which may be refused.
 */
export const extValue: fc.Arbitrary<HostileValue> = fc
  .record({ type: fc.integer({ min: -128, max: 127 }), data: fc.uint8Array({ maxLength: 40 }), fixed: fc.boolean() })
  .map(({ type, data, fixed }): HostileValue => {
    const out = header(new Bytes(), 'ext', data.length, fixed ? 'fix' : 8, type & 0xff).bytes(data);
    const timestamp = type === -1;
    const ours = type >= 0x70 && type <= 0x7f; // reserved: their payloads are checked and decoded
    return {
      ...valid(out.done(), `ext(${type},${data.length})`),
      // The timestamp extension accepts only 4, 8 or 12 bytes.
      verdict: timestamp ? ([4, 8, 12].includes(data.length) ? 'unknown' : 'invalid') : ours ? 'unknown' : 'valid',
    };
  })
  .map(described);

/** A valid value cut short. */
export const truncated: fc.Arbitrary<HostileValue> = plainValue
  .map((v) => encodeValue(v))
  .filter((b) => b.length > 1)
  .chain((b) => fc.integer({ min: 1, max: b.length - 1 }).map((keep) => ({ b, keep })))
  .map(({ b, keep }) => ({ ...valid(b.slice(0, keep), `truncated(${keep}/${b.length})`), verdict: 'invalid' as const }))
  .map(described);

/** A valid value followed by more bytes (decode wants exactly one value). */
export const trailing: fc.Arbitrary<HostileValue> = fc
  .tuple(plainValue, fc.uint8Array({ minLength: 1, maxLength: 8 }))
  .map(([v, extra]) => {
    const b = encodeValue(v);
    const out = new Uint8Array(b.length + extra.length);
    out.set(b);
    out.set(extra, b.length);
    return { ...valid(out, `trailing(${extra.length})`), verdict: 'invalid' as const };
  })
  .map(described);

/** The byte MessagePack never uses, alone or inside a container. */
export const neverUsed: fc.Arbitrary<HostileValue> = fc
  .constantFrom([0xc1], [0x91, 0xc1], [0x81, 0xa1, 0x61, 0xc1], [0x92, 0x01, 0xc1])
  .map((b) => ({ ...valid(Uint8Array.from(b), 'never-used(0xc1)'), verdict: 'invalid' as const }))
  .map(described);

/**
 * Any hostile value, ordinary ones most of the time. `weights` tilts the mix
 * (a short run wants mostly decodable values; a findings run the costly ones).
 */
export function hostileValue(
  limits: HostileLimits,
  weights: Partial<Record<'plain' | 'deep' | 'keys' | 'wide' | 'declared' | 'ext' | 'truncated' | 'trailing' | 'never', number>> = {},
): fc.Arbitrary<HostileValue> {
  const w = { plain: 60, deep: 6, keys: 6, wide: 4, declared: 8, ext: 6, truncated: 4, trailing: 3, never: 3, ...weights };
  const arms: Array<{ weight: number; arbitrary: fc.Arbitrary<HostileValue> }> = [
    { weight: w.plain, arbitrary: plainHostile },
    { weight: w.deep, arbitrary: deepNesting(limits) },
    { weight: w.keys, arbitrary: manyKeys(limits) },
    { weight: w.wide, arbitrary: wideArray(limits) },
    { weight: w.declared, arbitrary: overDeclared(limits) },
    { weight: w.ext, arbitrary: extValue },
    { weight: w.truncated, arbitrary: truncated },
    { weight: w.trailing, arbitrary: trailing },
    { weight: w.never, arbitrary: neverUsed },
  ];
  return fc.oneof(...arms.filter((a) => a.weight > 0));
}

/**
 * Sizes up to `max`, spread over the orders of magnitude (a plain
 * `fc.integer` would almost never pick a small one, or a huge one, when the
 * range is wide); shrinks toward 1.
 */
export function sizeUpTo(max: number): fc.Arbitrary<number> {
  const tiers = [10, 1_000, 100_000, 2_000_000, 20_000_000].filter((t, i, all) => i === 0 || all[i - 1]! < max);
  return fc.oneof(...tiers.map((t) => fc.integer({ min: 1, max: Math.max(1, Math.min(t, max)) })));
}
