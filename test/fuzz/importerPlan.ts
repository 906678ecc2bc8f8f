// What a fake importer does on one connection to an exporter, as a fast-check
// arbitrary: HELLO (sometimes hostile), a mostly valid sequence of OPEN, DATA,
// ACK, END, CANCEL, ERROR and PING (with out-of-range numbers now and then),
// and a finale: a clean goodbye, a drop, or one protocol violation. The
// frames' fields follow frameLayouts.ts; fakeImporter.ts plays the plan and
// judges the answers.
import fc from 'fast-check';
import { anyConnectionErrorCode } from './knownFindings.js';
import { hostileValue, plainHostile, type HostileLimits, type HostileValue } from './msgpackHostile.js';
import { errorCode, hello, outOfRange, weightOf, type HelloPlan, type PeerFinale, framingBadFrames, type FramingBadFrame } from './planParts.js';

/** Channels the exporter target serves (fuzzTarget.ts): what OPEN may name. */
export const TARGET_CHANNELS = {
  /** exported 'send', always fed: import it 'recv' (dir 0). */
  jobs: { exported: 'send' },
  /** exported 'recv', read and acknowledged at once: import it 'send' (dir 1). */
  inbox: { exported: 'recv' },
  /** exported 'recv', read but never acknowledged: the window fills up. */
  sink: { exported: 'recv' },
} as const;

export type TargetChannel = keyof typeof TARGET_CHANNELS;

/** The exporter target's `maxWindow`. */
export const TARGET_MAX_WINDOW = 65_536;

export type ImporterOp =
  | { readonly op: 'open'; readonly channel: string; readonly dir: unknown; readonly size: unknown; readonly count: unknown; readonly skip: number }
  | { readonly op: 'data'; readonly pick: number; readonly n: number; readonly value: HostileValue }
  | { readonly op: 'ack'; readonly pick: number; readonly how: 'all' | 'half' | 'stale' }
  | { readonly op: 'end'; readonly pick: number }
  | { readonly op: 'cancel'; readonly pick: number }
  | { readonly op: 'bindingError'; readonly pick: number; readonly code: string }
  | { readonly op: 'ping' }
  | { readonly op: 'split'; readonly at: number }
  | { readonly op: 'wait' };

/** One frame that breaks the protocol: the connection must be closed with `codes`. */
export type BadFrame =
  | FramingBadFrame
  | { readonly bad: 'dataUnopened'; readonly ahead: number }
  | { readonly bad: 'ackBeyond'; readonly pick: number }
  | { readonly bad: 'pastWindow'; readonly size: number }
  | { readonly bad: 'reuseId' }
  | { readonly bad: 'helloTwice' }
  | { readonly bad: 'badValue'; readonly value: HostileValue }
  | { readonly bad: 'field'; readonly frame: 'OPEN' | 'ACK' | 'END' | 'CANCEL' | 'ERROR'; readonly field: string; readonly value: unknown };

export type Finale = PeerFinale<BadFrame>;

export interface ImporterPlan {
  readonly hello: HelloPlan;
  readonly ops: readonly ImporterOp[];
  readonly finale: Finale;
}

/** Knobs of the plan arbitrary. */
export interface ImporterPlanConfig {
  readonly limits: HostileLimits;
  /** Most ops per connection. Defaults to 60. */
  readonly maxOps?: number;
  /** Share of connections that end with a protocol violation. Defaults to 0.1. */
  readonly badShare?: number;
  /** Share of DATA ops carrying a hostile (not plain) value. Defaults to 0.05. */
  readonly hostileShare?: number;
  /** Share of HELLOs and OPENs with an out-of-range or hostile field. Defaults to 0.05. */
  readonly mutateShare?: number;
}

const sizes = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(1, 2, 4, 8, 16) },
  { weight: 6, arbitrary: fc.constantFrom(64, 256, 1024, 4096) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, -100) },
  { weight: 1, arbitrary: fc.constant(TARGET_MAX_WINDOW + 1) }, // refused for the binding
);
const counts = fc.oneof({ weight: 6, arbitrary: fc.constant(-1) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 50 }) });

function openOp(mutate: number): fc.Arbitrary<ImporterOp> {
  const channel = fc.oneof(
    { weight: 20, arbitrary: fc.constantFrom<string>('jobs', 'inbox', 'sink') },
    { weight: 1, arbitrary: fc.constantFrom('nochan', '', 'JOBS', 'steady2') },
  );
  const normal = fc.record({
    op: fc.constant('open' as const),
    channel,
    dir: fc.constantFrom<unknown>(0, 1),
    size: sizes as fc.Arbitrary<unknown>,
    count: counts as fc.Arbitrary<unknown>,
    skip: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 1000 }) }),
  });
  const arms: Array<{ weight: number; arbitrary: fc.Arbitrary<ImporterOp> }> = [{ weight: 1000, arbitrary: normal }];
  for (const field of ['size', 'count'] as const) {
    const bad = outOfRange('OPEN', field);
    if (bad) arms.push({ weight: mutate, arbitrary: fc.tuple(normal, bad).map(([o, v]) => ({ ...o, [field]: v })) });
  }
  return fc.oneof(...arms);
}

function badFrame(limits: HostileLimits): fc.Arbitrary<BadFrame> {
  const fieldBad = (frame: 'OPEN' | 'ACK' | 'END' | 'CANCEL' | 'ERROR', field: string): fc.Arbitrary<BadFrame> | undefined => {
    const arb = outOfRange(frame, field);
    return arb?.map((value): BadFrame => ({ bad: 'field', frame, field, value }));
  };
  const fieldArms = [
    fieldBad('OPEN', 'id'),
    fieldBad('OPEN', 'dir'),
    fieldBad('ACK', 'seq'),
    fieldBad('END', 'id'),
    fieldBad('CANCEL', 'id'),
    fieldBad('ERROR', 'id'),
  ].filter((a): a is fc.Arbitrary<BadFrame> => a !== undefined);
  return fc.oneof<fc.Arbitrary<BadFrame>[]>(
    ...framingBadFrames([16 * 1024 * 1024 + 1, 0xffffffff, 0x7fffffff]),
    fc.record({ bad: fc.constant('dataUnopened' as const), ahead: fc.integer({ min: 1, max: 2 ** 32 - 1 }) }),
    fc.record({ bad: fc.constant('ackBeyond' as const), pick: fc.nat() }),
    fc.record({ bad: fc.constant('pastWindow' as const), size: fc.integer({ min: 1, max: 16 }) }),
    fc.constant({ bad: 'reuseId' as const }),
    fc.constant({ bad: 'helloTwice' as const }),
    fc.record({
      bad: fc.constant('badValue' as const),
      value: hostileValue(limits, { plain: 0, deep: 0, keys: 0, wide: 0, ext: 0 }).filter((v) => v.verdict === 'invalid'),
    }),
    ...fieldArms,
  );
}

function finale(limits: HostileLimits, badShare: number): fc.Arbitrary<Finale> {
  const rest = 1 - badShare;
  return fc.oneof(
    { weight: weightOf(rest * 0.6), arbitrary: fc.constant({ kind: 'bye' as const }) },
    { weight: weightOf(rest * 0.2), arbitrary: fc.constant({ kind: 'end' as const }) },
    { weight: weightOf(rest * 0.1), arbitrary: fc.constant({ kind: 'reset' as const }) },
    {
      weight: weightOf(rest * 0.1),
      arbitrary: fc.record({ kind: fc.constant('connectionError' as const), code: errorCode(anyConnectionErrorCode()), message: fc.string({ maxLength: 20 }) }),
    },
    { weight: weightOf(badShare), arbitrary: badFrame(limits).map((frame) => ({ kind: 'violation' as const, frame })) },
  );
}

/** Plans for one connection each. */
export function importerPlan(config: ImporterPlanConfig): fc.Arbitrary<ImporterPlan> {
  const { limits, maxOps = 60, badShare = 0.1, hostileShare = 0.05, mutateShare = 0.05 } = config;
  const mutate = weightOf(mutateShare / (1 - mutateShare));
  const value = fc.oneof(
    { weight: weightOf(1 - hostileShare), arbitrary: plainHostile },
    { weight: weightOf(hostileShare), arbitrary: hostileValue(limits, { plain: 0, declared: 0, truncated: 0, trailing: 0, never: 0 }) },
  );
  const op: fc.Arbitrary<ImporterOp> = fc.oneof(
    { weight: 12, arbitrary: openOp(mutate) },
    { weight: 40, arbitrary: fc.record({ op: fc.constant('data' as const), pick: fc.nat(), n: fc.integer({ min: 1, max: 256 }), value }) },
    { weight: 20, arbitrary: fc.record({ op: fc.constant('ack' as const), pick: fc.nat(), how: fc.constantFrom<'all' | 'half' | 'stale'>('all', 'all', 'half', 'stale') }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('end' as const), pick: fc.nat() }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('bindingError' as const), pick: fc.nat(), code: errorCode(true) }) },
    { weight: 3, arbitrary: fc.constant({ op: 'ping' as const }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('split' as const), at: fc.nat() }) },
    { weight: 4, arbitrary: fc.constant({ op: 'wait' as const }) },
  );
  return fc.record({
    hello: hello(limits, mutate),
    ops: fc.array(op, { maxLength: maxOps, size: 'max' }),
    finale: finale(limits, badShare),
  });
}
