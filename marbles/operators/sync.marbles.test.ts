import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { tap } from 'rxjs';
import { drain, exportChannel, importChannel, sync } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// sync(target): completion waits until every receiver bound when the source
// completed has acknowledged what was sent to it up to then. Unlike drain it
// does not wait for later values, nor for queued values no receiver has taken.
describe('sync', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('completes when the values sent before it are acknowledged', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const source = cold('  ----a-b|   ');
      const delivered = '    ------a-b  ';
      const expected = '     ----a-b---|'; // b (sent at 6) acknowledged back at 10
      expectObservable(importChannel<string>(importer, 'jobs', 'recv')).toBe(delivered);
      expectObservable(source.pipe(tap((v) => jobs.next(v)), sync(jobs))).toBe(expected);
    });
  });

  it('does not wait for values sent later (drain does)', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      importChannel<string>(importer, 'jobs', 'recv').subscribe();
      const source = cold('  ----a|      ');
      hot('                  ------b     ').subscribe((v) => jobs.next(v));
      const synced = '       ----a---|   '; // a acknowledged back at 8
      const drained = '      ----------| '; // b acknowledged back at 10
      expectObservable(source.pipe(tap((v) => jobs.next(v)), sync(jobs))).toBe(synced);
      expectObservable(cold('-----|').pipe(drain(jobs))).toBe(drained);
    });
  });

  it('does not wait for values queued beyond the window', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      // size 1: a goes out at 4; b (sent at 6) waits in the queue until a's ack lands at 8
      const source = cold('  ----a-b|     ');
      const delivered = '    ------a---b  ';
      const synced = '       ----a-b-|    '; // only a was in flight when the source completed
      const drained = '      ----a-b-----|'; // b is delivered at 10 and acknowledged back at 12
      expectObservable(importChannel<string>(importer, 'jobs', 'recv', { size: 1 })).toBe(delivered);
      expectObservable(source.pipe(tap((v) => jobs.next(v)), sync(jobs))).toBe(synced);
      expectObservable(cold('-------|').pipe(drain(jobs))).toBe(drained.replace(/[ab]/g, '-'));
    });
  });

  it('does not wait for values queued with no receiver at all', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const source = cold('  --a-b|');
      const synced = '       --a-b|';
      const drained = '      ------'; // drain waits for a receiver
      expectObservable(source.pipe(tap((v) => jobs.next(v)), sync(jobs))).toBe(synced);
      expectObservable(cold('-----|').pipe(drain(jobs))).toBe(drained);
    });
  });

  it('exporter.sync() snapshots every receiver when subscribed', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      importChannel<string>(importer, 'jobs', 'recv').subscribe();
      hot('     ----a-b---c').subscribe((v) => jobs.next(v));
      const sub = '-----^-----';
      const expected = '--------|'; // a, in flight at 5, is acknowledged back at 8; b (6) and c are later
      expectObservable(exporter.sync(), sub).toBe(expected);
    });
  });
});
