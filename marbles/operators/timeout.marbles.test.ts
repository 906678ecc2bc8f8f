import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { tap } from 'rxjs';
import { DrainTimeoutError, drain, exportChannel, importChannel, sync } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// `timeout` counts from the source's completion and errors with 'ETIMEDOUT'
// at exactly that frame; the timer runs on the endpoint's scheduler (asyncScheduler).
describe('drain and sync timeout', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('drain errors with ETIMEDOUT exactly `timeout` after the source completes', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      importChannel<string>(importer, 'jobs', 'recv', { ack: 'manual' }).subscribe(); // never acknowledges
      const source = cold('  ----a-|      ');
      const expected = '     ----a------#'; // 6 + 5
      expectObservable(source.pipe(tap((v) => jobs.next(v)), drain(jobs, { timeout: 5 }))).toBe(
        expected,
        undefined,
        new DrainTimeoutError('drain', 1, 5),
      );
    });
  });

  it('sync errors with ETIMEDOUT at the timeout frame', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      importChannel<string>(importer, 'jobs', 'recv', { ack: 'manual' }).subscribe();
      const source = cold('  ----ab|     ');
      const expected = '     ----ab---#  ';
      expectObservable(source.pipe(tap((v) => jobs.next(v)), sync(jobs, { timeout: 3 }))).toBe(
        expected,
        undefined,
        new DrainTimeoutError('sync', 2, 3),
      );
    });
  });

  it('finishing before the timeout completes normally and cancels the timer', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      importChannel<string>(importer, 'jobs', 'recv').subscribe();
      const source = cold('  ----a|   ');
      const expected = '     ----a---|'; // acknowledged back at 8, one frame before the timeout at 9
      expectObservable(source.pipe(tap((v) => jobs.next(v)), drain(jobs, { timeout: 4 }))).toBe(expected);
    });
  });

  it('an acknowledgement landing in the timeout frame is too late: the timer was armed first', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      importChannel<string>(importer, 'jobs', 'recv').subscribe();
      const source = cold('  ----a|   ');
      const expected = '     ----a---#'; // timeout 5 + 3 = 8, the frame the ack lands in
      expectObservable(source.pipe(tap((v) => jobs.next(v)), drain(jobs, { timeout: 3 }))).toBe(
        expected,
        undefined,
        new DrainTimeoutError('drain', 1, 3),
      );
    });
  });

  it('times out while no importer has bound', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      expectObservable(cold('-a|').pipe(tap((v) => jobs.next(v)), drain(jobs, { timeout: 10 }))).toBe(
        '-a----------#',
        undefined,
        new DrainTimeoutError('drain', 1, 10),
      );
    });
  });

  it('exporter.drain(timeout) and exporter.sync(timeout) count from their subscription', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      importChannel<string>(importer, 'jobs', 'recv', { ack: 'manual' }).subscribe();
      hot('--a').subscribe((v) => jobs.next(v));
      const sub = '     -----^-----';
      const expected = '---------#  '; // 5 + 4
      expectObservable(exporter.drain(4), sub).toBe(expected, undefined, new DrainTimeoutError('drain', 1, 4));
      expectObservable(exporter.sync(4), sub).toBe(expected, undefined, new DrainTimeoutError('sync', 1, 4));
    });
  });
});
