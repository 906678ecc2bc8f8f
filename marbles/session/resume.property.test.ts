import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TestScheduler } from 'rxjs/testing';
import { exportChannel, importChannel, type Delivery } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';

// A model check of resume: random traffic both ways, random windows and manual
// acknowledgement delays, and random drops (also during a reconnection's own
// handshake). Whatever the timing, within resumeGrace every value reaches the
// other side exactly once and in order, and drain completes on both sides.
const scenario = fc.record({
  latency: fc.integer({ min: 1, max: 3 }),
  redial: fc.integer({ min: 1, max: 6 }),
  down: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 40 }),
  up: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 1, maxLength: 40 }),
  downSize: fc.integer({ min: 1, max: 8 }),
  upSize: fc.integer({ min: 1, max: 8 }),
  ackDelay: fc.option(fc.integer({ min: 0, max: 7 }), { nil: undefined }),
  drops: fc.array(fc.integer({ min: 1, max: 120 }), { maxLength: 6 }),
  complete: fc.boolean(),
});

describe('resume, property-based', () => {
  it('every value exactly once and in order, in both directions, across any drops within the grace', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const ts = new TestScheduler(() => {});
        const gotDown: number[] = [];
        const gotUp: number[] = [];
        let drained = 0;
        let completions = 0;
        ts.run(() => {
          const net = virtualNetwork({
            latency: s.latency,
            exporter: { resumeGrace: 10_000 },
            importer: { reconnect: { initialDelay: s.redial, maxDelay: s.redial, jitter: 0 } },
          });
          const jobs = exportChannel<number>(net.exporter, 'jobs', 'send');
          const results = exportChannel<number>(net.exporter, 'results', 'recv');
          results.subscribe({ next: (v) => gotUp.push(v), complete: () => completions++ });
          const send = importChannel<number>(net.importer, 'results', 'send', { size: s.upSize });
          if (s.ackDelay === undefined) {
            importChannel<number>(net.importer, 'jobs', 'recv', { size: s.downSize }).subscribe({ next: (v) => gotDown.push(v), complete: () => completions++ });
          } else {
            const delay = s.ackDelay;
            importChannel<number>(net.importer, 'jobs', 'recv', { size: s.downSize, ack: 'manual' }).subscribe({
              next: (d: Delivery<number>) => {
                gotDown.push(d.value);
                ts.schedule(() => d.ack(), delay);
              },
              complete: () => completions++,
            });
          }
          // Sends spread over time: gaps from the generated arrays.
          let t = 0;
          s.down.forEach((gap, i) => ts.schedule(() => jobs.next(i), (t += gap)));
          if (s.complete) ts.schedule(() => jobs.complete(), t);
          t = 0;
          s.up.forEach((gap, i) => ts.schedule(() => send.next(i), (t += gap)));
          if (s.complete) ts.schedule(() => send.complete(), t);
          for (const at of s.drops) ts.schedule(() => net.drop(), at);
          // Drain both ways once all is sent and the last drop is over.
          ts.schedule(() => {
            net.exporter.drain().subscribe({ complete: () => drained++ });
            net.importer.drain().subscribe({ complete: () => drained++ });
          }, 400);
          ts.schedule(() => net.close(), 2_000);
        });
        expect(gotDown).toEqual(s.down.map((_, i) => i));
        expect(gotUp).toEqual(s.up.map((_, i) => i));
        expect(drained).toBe(2);
        // With completion: the import completes after every value (END crosses drops too), and so
        // does the exporter's 'recv' channel once its only sender completed; without, neither does
        // before close() (a clean close completes both then).
        expect(completions).toBe(2);
      }),
      { numRuns: Number(process.env.RESUME_RUNS ?? 300) },
    );
  });
});
