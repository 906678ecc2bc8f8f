// The fuzzer's own parts, checked without a target: its oracle is only as good
// as the verdicts of its generators and the coverage of its frame table.
import { describe, expect, it } from 'vitest';
import { Decoder, decode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { FILLABLE, buildFrame, buildFrameRaw, frameFields } from './frameBuilder.js';
import { FRAME_LAYOUTS, OUT_OF_RANGE, inDomain, layout } from './frameLayouts.js';
import { exporterPlan } from './exporterPlan.js';
import { importerPlan } from './importerPlan.js';
import { hostileValue, type HostileLimits } from './msgpackHostile.js';

/** Small enough to decode quickly, large enough to cross every threshold in the verdicts. */
const SMALL: HostileLimits = {
  maxDepth: 3_000,
  maxKeys: 3_000,
  maxElements: 20_000,
  maxOverDeclared: 0xffff,
  maxOverDeclaredNesting: 4,
  maxBytes: 256 * 1024,
};

/** The decoder as the library configures it (src/protocol/codec.ts): every limit is the frame limit. */
const M = 16 * 1024 * 1024;
const decoder = new Decoder({ maxStrLength: M, maxBinLength: M, maxArrayLength: M, maxMapLength: M, maxExtLength: M });

describe('hostile MessagePack values', () => {
  it('decode exactly as their verdict says: valid and costly ones decode, invalid ones are refused', () => {
    fc.assert(
      fc.property(hostileValue(SMALL, { plain: 10, deep: 10, keys: 10, wide: 10, declared: 10, ext: 10, truncated: 10, trailing: 10, never: 10 }), (v) => {
        let ok = true;
        try {
          decoder.decode(v.bytes);
        } catch {
          ok = false;
        }
        if (v.verdict === 'valid' || v.verdict === 'costly') expect(ok, `${v.label} should decode`).toBe(true);
        if (v.verdict === 'invalid') expect(ok, `${v.label} should be refused`).toBe(false);
      }),
      { numRuns: 400, seed: 42 },
    );
  });
});

describe('frame layouts (frameLayouts.ts)', () => {
  it('every field has a role the builder can fill, and a numeric domain where a number goes', () => {
    for (const f of FRAME_LAYOUTS) {
      for (const field of [...f.fields, ...f.fields.flatMap((x) => x.entries ?? [])]) {
        expect(FILLABLE.has(field.role), `${f.name}.${field.name}: role ${field.role}`).toBe(true);
        if (['newId', 'bindingId', 'bindingOrConnection', 'dir', 'window', 'count', 'ackSeq', 'sentTotal', 'frameLimit', 'keepalive', 'version'].includes(field.role)) {
          expect(field.domain, `${f.name}.${field.name} needs a domain`).toBeDefined();
        }
      }
    }
  });

  it('builds each frame in its layout order, and the filled values are in their domains', () => {
    for (const f of FRAME_LAYOUTS) {
      const fields = frameFields(f.name, { id: 3, channel: 'jobs', dir: 1, window: 8, count: 5, received: 2, sent: 4, code: 'EPROTO', text: 'x' });
      expect(fields[0]).toBe(f.type);
      expect(fields.length).toBe(1 + f.fields.length);
      f.fields.forEach((field, i) => {
        if (field.domain && field.role !== 'bindingOrConnection') expect(inDomain(field.domain, fields[i + 1]), `${f.name}.${field.name}`).toBe(true);
      });
      expect(decode(buildFrame(f.name, { id: 3 }).subarray(4))).toEqual(frameFields(f.name, { id: 3 }));
    }
    // A raw field goes in as bytes: DATA carrying the MessagePack of "hi".
    const data = buildFrameRaw('DATA', { id: 7 }, { value: Uint8Array.of(0xa2, 0x68, 0x69) });
    expect(decode(data.subarray(4))).toEqual([layout('DATA').type, 7, 'hi']);
  });

  it('OUT_OF_RANGE holds, for every numeric field, values outside its domain', () => {
    for (const f of FRAME_LAYOUTS) {
      for (const field of f.fields) {
        if (field.domain) expect(OUT_OF_RANGE.filter((v) => !inDomain(field.domain!, v)).length, `${f.name}.${field.name}`).toBeGreaterThan(5);
      }
    }
  });
});

describe('plans', () => {
  it('are mostly valid: few connections end in a violation, few values are hostile', () => {
    const plans = fc.sample(importerPlan({ limits: SMALL }), { seed: 1, numRuns: 300 });
    const violations = plans.filter((p) => p.finale.kind === 'violation').length;
    expect(violations / plans.length).toBeGreaterThan(0.03);
    expect(violations / plans.length).toBeLessThan(0.2);
    const data = plans.flatMap((p) => p.ops).filter((o) => o.op === 'data');
    expect(data.length).toBeGreaterThan(plans.length * 5);
    const hostile = data.filter((o) => o.op === 'data' && o.value.verdict !== 'valid').length;
    expect(hostile / data.length).toBeLessThan(0.15);
    const ex = fc.sample(exporterPlan({ limits: SMALL }), { seed: 1, numRuns: 100 });
    expect(ex.flatMap((p) => p.ops).filter((o) => o.op === 'data').length).toBeGreaterThan(ex.length * 5);
  });
});
