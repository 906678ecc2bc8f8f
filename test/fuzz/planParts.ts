// Pieces both fake peers' plans share: HELLO (valid, hostile or out of
// range), error codes, out-of-range field values, labels.
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { OUT_OF_RANGE, OUR_CODES, PROTOCOL_VERSION, UNKNOWN_TYPES, inDomain, layout } from './frameLayouts.js';
import { mutatesField } from './knownFindings.js';
import { hostileValue, type HostileLimits, type HostileValue } from './msgpackHostile.js';

/** A HELLO to send, and what the other side must do with it. */
export interface HelloPlan {
  readonly version: unknown;
  /** Raw MessagePack of the options map (or of whatever stands in its place). */
  readonly options: HostileValue;
  /** Out of range: the exporter must refuse the handshake. */
  readonly expect: 'accept' | 'refuse' | 'either';
  readonly label: string;
}

/** Frames broken as frames, whatever the state: either side may send them. */
export type FramingBadFrame =
  | { readonly bad: 'unknownType'; readonly type: number }
  | { readonly bad: 'notArray'; readonly body: readonly number[] }
  | { readonly bad: 'empty' }
  | { readonly bad: 'tooBig'; readonly declared: number };

/** The arms of a bad-frame arbitrary for {@link FramingBadFrame}; `declared`: the too-big length prefixes to try. */
export function framingBadFrames(declared: readonly number[]): fc.Arbitrary<FramingBadFrame>[] {
  return [
    fc.record({ bad: fc.constant('unknownType' as const), type: fc.constantFrom(...UNKNOWN_TYPES) }),
    fc.record({ bad: fc.constant('notArray' as const), body: fc.constantFrom([0xc1], [0xa2, 0x68, 0x69], [0x80], [0x07], [0x90]) }),
    fc.constant({ bad: 'empty' as const }),
    fc.record({ bad: fc.constant('tooBig' as const), declared: fc.constantFrom(...declared) }),
  ];
}

/** How a fake peer ends its connection; `Bad` is its side's invalid frames. */
export type PeerFinale<Bad> =
  | { readonly kind: 'bye' }
  | { readonly kind: 'end' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'violation'; readonly frame: Bad }
  | { readonly kind: 'connectionError'; readonly code: string; readonly message: string };

/** fast-check weights are integers: a share as parts per thousand. */
export const weightOf = (share: number) => Math.max(0, Math.round(share * 1000));

/** An out-of-range value for `frame.field`, or undefined when the fuzzer must not touch it (knownFindings.ts). */
export function outOfRange(frame: string, field: string): fc.Arbitrary<unknown> | undefined {
  const f = layout(frame).fields.find((x) => x.name === field) ?? layout(frame).fields.flatMap((x) => x.entries ?? []).find((x) => x.name === field);
  const d = f?.domain;
  const out = (d ? OUT_OF_RANGE.filter((v) => !inDomain(d, v)) : OUT_OF_RANGE).filter((v) => mutatesField(frame, field, v));
  return out.length === 0 ? undefined : fc.constantFrom(...out);
}

/** A map of HELLO options, encoded by hand so a field may hold anything. */
function helloOptions(limits: HostileLimits, mutate: number): fc.Arbitrary<{ options: HostileValue; expect: HelloPlan['expect']; label: string }> {
  const plainOpts = fc.record({ maxFrameBytes: fc.constantFrom(1 << 20, 16 * 1024 * 1024, 4096), keepalive: fc.constantFrom(0, 15_000) });
  const valid = plainOpts.map((o) => ({ options: encodedMap(o), expect: 'accept' as const, label: 'HELLO' }));
  const arms: Array<{ weight: number; arbitrary: fc.Arbitrary<{ options: HostileValue; expect: HelloPlan['expect']; label: string }> }> = [
    { weight: 1000, arbitrary: valid },
  ];
  // A hostile value where the options go, or as `auth` (finding 1's 207 bytes live here).
  arms.push({
    weight: mutate,
    arbitrary: fc.tuple(hostileValue(limits, { plain: 10 }), fc.boolean()).map(([v, asAuth]) => {
      const options = asAuth ? authMap(v) : v;
      const expect = v.verdict === 'invalid' ? 'refuse' : v.verdict === 'valid' ? 'accept' : 'either';
      return { options, expect, label: `HELLO options ${asAuth ? 'auth=' : ''}${v.label}` };
    }),
  });
  for (const field of ['maxFrameBytes', 'keepalive']) {
    const bad = outOfRange('HELLO', field);
    if (bad)
      arms.push({
        weight: Math.ceil(mutate / 4),
        arbitrary: fc.tuple(plainOpts, bad).map(([o, v]) => ({
          options: encodedMap({ ...o, [field]: v }),
          expect: 'refuse' as const,
          label: `HELLO ${field}=${show(v)}`,
        })),
      });
  }
  return fc.oneof(...arms);
}

function encodedMap(o: Record<string, unknown>): HostileValue {
  return { bytes: encode(o), verdict: 'valid', label: 'options', depth: 1, keys: Object.keys(o).length, elements: 0, overDeclared: 0 };
}

/** `{ auth: v }`, with `v` as raw bytes. */
export function authMap(v: HostileValue): HostileValue {
  const head = Uint8Array.from([0x81, 0xa4, 0x61, 0x75, 0x74, 0x68]); // { "auth": …
  const bytes = new Uint8Array(head.length + v.bytes.length);
  bytes.set(head);
  bytes.set(v.bytes, head.length);
  return { ...v, bytes, depth: v.depth + 1 };
}

/** Short text of a field value for labels: NaN, 2^53, "1", {}. */
export function show(v: unknown): string {
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return v === null ? 'null' : Array.isArray(v) ? `[${v.map(show).join(',')}]` : typeof v === 'object' ? '{}' : String(v);
}

export function hello(limits: HostileLimits, mutate: number): fc.Arbitrary<HelloPlan> {
  const version = outOfRange('HELLO', 'version');
  return fc
    .tuple(
      helloOptions(limits, mutate),
      version ? fc.oneof({ weight: 1000, arbitrary: fc.constant<unknown>(PROTOCOL_VERSION) }, { weight: Math.ceil(mutate / 4), arbitrary: version }) : fc.constant<unknown>(PROTOCOL_VERSION),
    )
    .map(([o, v]) =>
      v === PROTOCOL_VERSION ? { version: v, ...o } : { version: v, options: o.options, expect: 'refuse' as const, label: `HELLO version=${show(v)}` },
    );
}

/** An error code: one of ours, or (`any`) any string at all. */
export function errorCode(any: boolean): fc.Arbitrary<string> {
  const ours = fc.constantFrom(...OUR_CODES);
  return any ? fc.oneof(ours, fc.string({ maxLength: 12 }), fc.constantFrom('EVIL', 'toString', '__proto__', 'constructor')) : ours;
}


/** A well-formed HELLO. */
export function validHello(options: Record<string, unknown> = { maxFrameBytes: 1 << 20, keepalive: 0 }): HelloPlan {
  return { version: PROTOCOL_VERSION, options: encodedMap(options), expect: 'accept', label: 'HELLO' };
}

/** A HELLO whose options are `v` (raw), judged by `v`'s verdict. */
export function helloWith(v: HostileValue, asAuth = false): HelloPlan {
  return {
    version: PROTOCOL_VERSION,
    options: asAuth ? authMap(v) : v,
    expect: v.verdict === 'invalid' ? 'refuse' : v.verdict === 'valid' ? 'accept' : 'either',
    label: `HELLO options ${asAuth ? 'auth=' : ''}${v.label}`,
  };
}
