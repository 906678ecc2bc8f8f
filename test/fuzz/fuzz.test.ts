// The short fuzz run of `npm test`: a few seconds of fake importers against an
// exporter and of a fake exporter against importers, each target in a child
// process. Leaves out the inputs of findings still open (knownFindings.ts);
// `npm run fuzz` is the long run, and test/fuzz/findings.test.ts reproduces
// the open findings.
import { describe, expect, it } from 'vitest';
import { runCampaign, type CampaignConfig, type CampaignReport } from './campaign.js';
import { hostileLimits } from './knownFindings.js';

const bounds = {
  // Generous: vitest runs other files beside this one on the same two cores.
  loopMs: 1_000,
  rssMB: 350,
  steadyFraction: 0.05,
};

function config(direction: CampaignConfig['direction'], frames: number, durationMs: number): CampaignConfig {
  return {
    direction,
    frames,
    durationMs,
    minConnections: 8,
    concurrency: 3,
    seed: Number(process.env['FUZZ_SEED'] ?? 20261),
    plan: { limits: hostileLimits(), maxOps: 40, badShare: 0.2 },
    bounds,
    heapMB: 384,
    baselineMs: 250,
  };
}

function expectHealthy(r: CampaignReport): void {
  // A finding fails with its counterexample in the message.
  expect(r.findings.total, r.findings.format()).toBe(0);
  expect(r.connections).toBeGreaterThanOrEqual(5);
  // Connections stop at their first bad frame, and bad frames are rare: most of what is sent is decoded.
  expect(r.framesDecoded / r.framesSent).toBeGreaterThan(0.9);
  expect(r.refusals).toBeGreaterThan(0); // violations did happen, and were refused
  expect(r.maxLoopMs).toBeLessThanOrEqual(bounds.loopMs);
  expect(r.peakRssMB).toBeLessThanOrEqual(bounds.rssMB);
  expect(r.steadyMinFraction).toBeGreaterThanOrEqual(bounds.steadyFraction);
  expect(r.restarts).toBe(0);
}

describe('fuzz (short run)', () => {
  // Both directions at once: two target processes, a couple of seconds.
  const runs = () => Promise.all([runCampaign(config('exporter', 300_000, 1_500)), runCampaign(config('importer', 200_000, 1_500))]);
  let reports: Promise<CampaignReport[]> | undefined;

  it('fake importers against an exporter: it survives, stays bounded, refuses only what is invalid, and a good connection keeps flowing', async () => {
    reports ??= runs();
    expectHealthy((await reports)[0]!);
  }, 30_000);

  it('a fake exporter against importers: the same properties on the importer side', async () => {
    reports ??= runs();
    expectHealthy((await reports)[1]!);
  }, 30_000);
});
