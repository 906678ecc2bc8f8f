// Issue 8's findings 1, 2, 4 and 8, as fast-check properties against a target
// process (a crash takes down the target, not the runner). They FAIL until the
// findings are fixed, so they run only with FUZZ_FINDINGS=1:
//
//   FUZZ_FINDINGS=1 npx vitest run test/fuzz/findings.test.ts
//
// On failure fast-check prints the shrunk counterexample. Once a finding is
// fixed, its test passes here; then remove it from OPEN_FINDINGS in
// knownFindings.ts so that the default fuzz run (fuzz.test.ts) generates its
// inputs too, and fold this file into the default run once all pass.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Attack } from './attack.js';
import { runCampaign } from './campaign.js';
import type { ExporterPlan } from './exporterPlan.js';
import { OUT_OF_RANGE, inDomain, layout } from './frameLayouts.js';
import type { ImporterPlan } from './importerPlan.js';
import { FULL_LIMITS, deepNesting, manyKeys, overDeclared, wideArray } from './msgpackHostile.js';
import { helloWith, validHello } from './planParts.js';
import type { Violation } from './violations.js';

const ON = process.env['FUZZ_FINDINGS'] === '1';
const seed = Number(process.env['FUZZ_SEED'] ?? 8);
const bounds = { loopMs: 250, rssMB: 400 };
/** Only what the property is about (a refused frame, say, is fine here). */
const of = (vs: Violation[], ...kinds: Violation['kind'][]) => vs.filter((v) => kinds.includes(v.kind)).map((v) => `${v.kind}: ${v.detail}`);

describe.skipIf(!ON)('issue 8 findings (FUZZ_FINDINGS=1)', () => {
  let exporter: Attack;
  let importer: Attack;
  beforeAll(async () => {
    // A small heap, so that a runaway allocation crashes the target in a moment.
    exporter = await Attack.start({ mode: 'exporter', heapMB: 256, baselineMs: 100 }, bounds);
    importer = await Attack.start({ mode: 'importer', heapMB: 256, baselineMs: 100 }, bounds);
  }, 60_000);
  afterAll(async () => {
    await exporter?.close();
    await importer?.close();
  });

  const bye = { kind: 'bye' } as const;
  const importerPlan = (p: Partial<ImporterPlan>): ImporterPlan => ({ hello: validHello(), ops: [], finale: bye, ...p });
  const exporterPlan = (p: Partial<ExporterPlan>): ExporterPlan => ({ hello: validHello(), ops: [], finale: bye, ...p });

  // Array/map headers whose declared length is past the end of the frame.
  const declared = overDeclared(FULL_LIMITS).filter((v) => v.overDeclared > 0);

  it('finding 1: a HELLO with huge declared lengths does not crash an exporter', async () => {
    await fc.assert(
      fc.asyncProperty(declared, async (v) => {
        const vs = await exporter.asImporter(importerPlan({ hello: helloWith(v) }));
        expect(of(vs, 'crash', 'memory')).toEqual([]);
      }),
      { numRuns: 40, seed },
    );
  }, 300_000);

  it('finding 1: a HELLO with huge declared lengths does not crash an importer', async () => {
    await fc.assert(
      fc.asyncProperty(declared, async (v) => {
        const vs = await importer.asExporter(exporterPlan({ hello: helloWith(v) }));
        expect(of(vs, 'crash', 'memory')).toEqual([]);
      }),
      { numRuns: 40, seed },
    );
  }, 300_000);

  it(`finding 2: no single legal value holds an exporter's event loop over ${bounds.loopMs} ms or its memory over ${bounds.rssMB} MiB`, async () => {
    const costly = fc.oneof(deepNesting(FULL_LIMITS), manyKeys(FULL_LIMITS), wideArray(FULL_LIMITS));
    await fc.assert(
      fc.asyncProperty(costly, async (v) => {
        const plan = importerPlan({ ops: [{ op: 'open', channel: 'inbox', dir: 1, size: 4, count: -1, skip: 0 }, { op: 'data', pick: 0, n: 1, value: v }] });
        const vs = await exporter.asImporter(plan);
        expect(of(vs, 'crash', 'memory', 'loop', 'no-answer')).toEqual([]);
      }),
      { numRuns: 40, seed },
    );
  }, 300_000);

  it(`finding 2: nor an importer's`, async () => {
    const costly = fc.oneof(deepNesting(FULL_LIMITS), manyKeys(FULL_LIMITS), wideArray(FULL_LIMITS));
    await fc.assert(
      fc.asyncProperty(costly, async (v) => {
        const vs = await importer.asExporter(exporterPlan({ ops: [{ op: 'data', pick: 0, n: 1, value: v }] }));
        expect(of(vs, 'crash', 'memory', 'loop', 'no-answer')).toEqual([]);
      }),
      { numRuns: 40, seed },
    );
  }, 300_000);

  it('finding 4: an OPEN whose size or count is out of range (NaN, a float, a string, …) is refused', async () => {
    const bad = (field: 'size' | 'count') => fc.constantFrom(...OUT_OF_RANGE.filter((v) => !inDomain(layout('OPEN').fields.find((f) => f.name === field)!.domain!, v)));
    const open = fc.oneof(
      fc.record({ channel: fc.constantFrom('jobs', 'inbox', 'sink'), size: bad('size'), count: fc.constant<unknown>(-1) }),
      fc.record({ channel: fc.constantFrom('jobs', 'inbox', 'sink'), size: fc.constant<unknown>(4), count: bad('count') }),
    );
    await fc.assert(
      fc.asyncProperty(open, async ({ channel, size, count }) => {
        const dir = channel === 'jobs' ? 0 : 1;
        const vs = await exporter.asImporter(importerPlan({ ops: [{ op: 'open', channel, dir, size, count, skip: 0 }] }));
        expect(of(vs, 'accepted-invalid', 'crash')).toEqual([]);
      }),
      { numRuns: 60, seed },
    );
  }, 120_000);

  it("finding 4: a HELLO whose maxFrameBytes or keepalive is out of range is refused", async () => {
    const bad = fc.record({ field: fc.constantFrom('maxFrameBytes', 'keepalive'), value: fc.constantFrom(...OUT_OF_RANGE.filter((v) => !inDomain({ min: 1, max: Number.MAX_SAFE_INTEGER }, v))) });
    await fc.assert(
      fc.asyncProperty(bad, async ({ field, value }) => {
        const hello = { ...validHello({ maxFrameBytes: 1 << 20, keepalive: 0, [field]: value }), expect: 'refuse' as const, label: `HELLO ${field}` };
        const vs = await exporter.asImporter(importerPlan({ hello }));
        expect(of(vs, 'accepted-invalid', 'crash')).toEqual([]);
      }),
      { numRuns: 30, seed },
    );
  }, 120_000);

  it("finding 8: a peer's connection ERROR cannot choose the code on exporter.errors$", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 12 }), async (code) => {
        const vs = await exporter.asImporter(importerPlan({ finale: { kind: 'connectionError', code, message: 'x' } }));
        expect(of(vs, 'foreign-error')).toEqual([]);
      }),
      { numRuns: 40, seed },
    );
  }, 120_000);

  it("finding 8: nor on importer.errors$", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 12 }), async (code) => {
        const vs = await importer.asExporter(exporterPlan({ finale: { kind: 'connectionError', code, message: 'x' } }));
        expect(of(vs, 'foreign-error')).toEqual([]);
      }),
      { numRuns: 40, seed },
    );
  }, 120_000);

  it.each(['exporter', 'importer'] as const)('the full grammar against %s for 10 s: no findings', async (direction) => {
    const r = await runCampaign({
      direction,
      frames: 2_000_000,
      durationMs: 10_000,
      concurrency: 4,
      seed,
      plan: { limits: FULL_LIMITS, maxOps: 40 },
      bounds: { ...bounds, steadyFraction: 0.05 },
      heapMB: 384,
    });
    expect(r.findings.total, r.findings.format()).toBe(0);
  }, 120_000);
});
