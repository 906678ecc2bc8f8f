import { beforeEach, describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { exportChannel, importChannel } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// hangup(name): the exporter unexports a channel (its importers complete one
// latency later, after what was already sent), or the importer unbinds it.
describe('hangup', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('exporter.hangup completes every import one latency later, after the values sent before it', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('     ----a-b-').subscribe((v) => jobs.next(v));
      hot('     ------h-').subscribe(() => exporter.hangup('jobs'));
      const expected = '------a-(b|)';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv')).toBe(expected);
      expectObservable(jobs).toBe('------|'); // the exported Subject itself completes at once
    });
  });

  it('exporter.hangup sends values still queued for the bound importers first', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('     ----(abc)').subscribe((v) => jobs.next(v));
      hot('     -----h---').subscribe(() => exporter.hangup('jobs'));
      // size 1: each value waits for the previous ack (4 ms round trip); END follows c
      const expected = '------a---b---(c|)';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv', { size: 1 })).toBe(expected);
    });
  });

  it('hangup frees the name: a new export under it serves new imports', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      let jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('----h').subscribe(() => {
        exporter.hangup('jobs');
        jobs = exportChannel<string>(exporter, 'jobs', 'send');
      });
      hot('-------x').subscribe(() => jobs.next('x'));
      expectObservable(importChannel<string>(importer, 'jobs', 'recv')).toBe('------|');
      expectObservable(importChannel<string>(importer, 'jobs', 'recv'), '-----^').toBe('---------x');
      expect(() => exporter.hangup('nope')).toThrow(expect.objectContaining({ code: 'ENOCHAN' }));
    });
  });

  it('importer.hangup completes its imports at once; unacknowledged values go to the next receiver', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('     ----a-----').subscribe((v) => jobs.next(v));
      hot('     --------h-').subscribe(() => importer.hangup('jobs'));
      const manual = importChannel<string>(importer, 'jobs', 'recv', { ack: 'manual' });
      expectObservable(manual).toBe('------a-|', { a: { value: 'a', seq: 1, ack: expect.any(Function) } });
      // the CANCEL reaches the exporter at 10 and puts a back at the front of the queue;
      // a new import (OPEN sent at 9, arriving at 11) gets it at 13
      expectObservable(importChannel<string>(importer, 'jobs', 'recv'), '---------^').toBe('-------------a');
    });
  });

  it("exporter.hangup of a 'recv' channel completes it at once and the importer's send channel one latency later", () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const results = exportChannel<string>(exporter, 'results', 'recv');
      const send = importChannel<string>(importer, 'results', 'send');
      hot('     --a-----').subscribe((v) => send.next(v));
      hot('     -----h--').subscribe(() => exporter.hangup('results'));
      expectObservable(results).toBe('----a|');
      expectObservable(send).toBe('-------|');
    });
  });

  it("importer.hangup of a 'send' import ends the exporter's 'recv' channel one latency later", () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const results = exportChannel<string>(exporter, 'results', 'recv');
      const send = importChannel<string>(importer, 'results', 'send');
      hot('     --a-b---').subscribe((v) => send.next(v));
      hot('     -----h--').subscribe(() => importer.hangup('results'));
      expectObservable(send).toBe('-----|');
      expectObservable(results).toBe('----a-b|'); // END (sent at 5) follows b and arrives at 7
    });
  });
});
