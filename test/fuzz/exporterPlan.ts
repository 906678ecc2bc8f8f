// What a fake exporter does to one importer connection, as a fast-check
// arbitrary. The importers of the target (fuzzTarget.ts, importer mode) open
// three bindings: 'a' (recv, size 1, 16 or 256, acknowledged on delivery), 'b'
// (recv, size 8, acknowledged a moment later) and 'c' (send, size 4, 40
// values). The plan answers HELLO (sometimes with a hostile one), then sends
// DATA, ACK, END, CANCEL, ERROR and PING on them, and ends with a goodbye, a
// drop, a connection ERROR, or one violation. fakeExporter.ts plays it.
import fc from 'fast-check';
import { anyConnectionErrorCode } from './knownFindings.js';
import { hostileValue, plainHostile, type HostileLimits, type HostileValue } from './msgpackHostile.js';
import { errorCode, hello, outOfRange, weightOf, type HelloPlan, type PeerFinale, framingBadFrames, type FramingBadFrame } from './planParts.js';

/** The bindings the target's importers open, by channel name. */
export const IMPORTER_BINDINGS = {
  a: { dir: 'recv' },
  b: { dir: 'recv' },
  c: { dir: 'send' },
} as const;

export type ExporterOp =
  /** DATA on a recv binding of the importer ('a' or 'b'). */
  | { readonly op: 'data'; readonly pick: number; readonly n: number; readonly value: HostileValue }
  /** ACK what the importer sent on 'c'. */
  | { readonly op: 'ack'; readonly how: 'all' | 'half' | 'stale' }
  /** END a recv binding: the import completes. */
  | { readonly op: 'end'; readonly pick: number }
  /** CANCEL 'c': the send import completes. */
  | { readonly op: 'cancel' }
  | { readonly op: 'bindingError'; readonly pick: number; readonly code: string }
  | { readonly op: 'ping' }
  | { readonly op: 'split'; readonly at: number }
  | { readonly op: 'wait' };

export type ExporterBadFrame =
  | FramingBadFrame
  | { readonly bad: 'dataUnopened'; readonly ahead: number }
  | { readonly bad: 'pastWindow' }
  | { readonly bad: 'ackBeyond' }
  | { readonly bad: 'helloTwice' }
  | { readonly bad: 'openFromExporter' }
  | { readonly bad: 'badValue'; readonly value: HostileValue }
  | { readonly bad: 'field'; readonly frame: 'ACK' | 'END' | 'CANCEL' | 'ERROR'; readonly field: string; readonly value: unknown };

export type ExporterFinale = PeerFinale<ExporterBadFrame>;

export interface ExporterPlan {
  readonly hello: HelloPlan;
  readonly ops: readonly ExporterOp[];
  readonly finale: ExporterFinale;
}

export interface ExporterPlanConfig {
  readonly limits: HostileLimits;
  readonly maxOps?: number;
  readonly badShare?: number;
  readonly hostileShare?: number;
  readonly mutateShare?: number;
}

function badFrame(limits: HostileLimits): fc.Arbitrary<ExporterBadFrame> {
  const field = (frame: 'ACK' | 'END' | 'CANCEL' | 'ERROR', name: string): fc.Arbitrary<ExporterBadFrame> | undefined =>
    outOfRange(frame, name)?.map((value): ExporterBadFrame => ({ bad: 'field', frame, field: name, value }));
  const fields = [field('ACK', 'seq'), field('END', 'id'), field('CANCEL', 'id'), field('ERROR', 'id')].filter(
    (a): a is fc.Arbitrary<ExporterBadFrame> => a !== undefined,
  );
  return fc.oneof<fc.Arbitrary<ExporterBadFrame>[]>(
    ...framingBadFrames([16 * 1024 * 1024 + 1, 0xffffffff]),
    fc.record({ bad: fc.constant('dataUnopened' as const), ahead: fc.integer({ min: 1, max: 2 ** 31 }) }),
    fc.constant({ bad: 'pastWindow' as const }),
    fc.constant({ bad: 'ackBeyond' as const }),
    fc.constant({ bad: 'helloTwice' as const }),
    fc.constant({ bad: 'openFromExporter' as const }),
    fc.record({
      bad: fc.constant('badValue' as const),
      value: hostileValue(limits, { plain: 0, deep: 0, keys: 0, wide: 0, ext: 0 }).filter((v) => v.verdict === 'invalid'),
    }),
    ...fields,
  );
}

/** Plans for one importer connection each. */
export function exporterPlan(config: ExporterPlanConfig): fc.Arbitrary<ExporterPlan> {
  const { limits, maxOps = 60, badShare = 0.1, hostileShare = 0.05, mutateShare = 0.05 } = config;
  const mutate = weightOf(mutateShare / (1 - mutateShare));
  const value = fc.oneof(
    { weight: weightOf(1 - hostileShare), arbitrary: plainHostile },
    { weight: weightOf(hostileShare), arbitrary: hostileValue(limits, { plain: 0, declared: 0, truncated: 0, trailing: 0, never: 0 }) },
  );
  const op: fc.Arbitrary<ExporterOp> = fc.oneof(
    { weight: 50, arbitrary: fc.record({ op: fc.constant('data' as const), pick: fc.nat(), n: fc.integer({ min: 1, max: 256 }), value }) },
    { weight: 15, arbitrary: fc.record({ op: fc.constant('ack' as const), how: fc.constantFrom<'all' | 'half' | 'stale'>('all', 'all', 'half', 'stale') }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('end' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.constant({ op: 'cancel' as const }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('bindingError' as const), pick: fc.nat(), code: errorCode(true) }) },
    { weight: 3, arbitrary: fc.constant({ op: 'ping' as const }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('split' as const), at: fc.nat() }) },
    { weight: 4, arbitrary: fc.constant({ op: 'wait' as const }) },
  );
  const rest = 1 - badShare;
  const finale: fc.Arbitrary<ExporterFinale> = fc.oneof(
    { weight: weightOf(rest * 0.6), arbitrary: fc.constant({ kind: 'bye' as const }) },
    { weight: weightOf(rest * 0.2), arbitrary: fc.constant({ kind: 'end' as const }) },
    { weight: weightOf(rest * 0.1), arbitrary: fc.constant({ kind: 'reset' as const }) },
    {
      weight: weightOf(rest * 0.1),
      arbitrary: fc.record({ kind: fc.constant('connectionError' as const), code: errorCode(anyConnectionErrorCode()), message: fc.string({ maxLength: 20 }) }),
    },
    { weight: weightOf(badShare), arbitrary: badFrame(limits).map((frame) => ({ kind: 'violation' as const, frame })) },
  );
  return fc.record({ hello: hello(limits, mutate), ops: fc.array(op, { maxLength: maxOps, size: 'max' }), finale });
}
