import { beforeEach, describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { tap } from 'rxjs';
import { drain, exportChannel, importChannel } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// drain(target): values pass through; completion waits until every value sent
// through `target` has been acknowledged. With latency 2 a value sent at frame t
// is delivered at t+2 and its acknowledgement lands back at the exporter at t+4.
describe('drain', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('completes one acknowledgement-latency after the last delivery', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const source = cold('  ----a-b-|   ');
      const sourceSubs = '   ^-------!   ';
      const delivered = '    ------a-b   ';
      const expected = '     ----a-b---| '; // b delivered at 8, its ack back at 10
      expectObservable(importChannel<string>(importer, 'jobs', 'recv')).toBe(delivered);
      expectObservable(source.pipe(tap((v) => jobs.next(v)), drain(jobs))).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sourceSubs);
    });
  });

  it('waits for values queued before any importer binds', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const source = cold('   -ab|          ');
      // the import binds at 6: OPEN reaches the exporter at 8, (ab) are delivered at 10, acked back at 12
      const importSub = '     ------^-------';
      const delivered = '     ----------(ab)';
      const expected = '      -ab---------| ';
      expectObservable(source.pipe(tap((v) => jobs.next(v)), drain(jobs))).toBe(expected);
      expectObservable(importChannel<string>(importer, 'jobs', 'recv'), importSub).toBe(delivered);
    });
  });

  it('waits for values sent while it is waiting', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      importChannel<string>(importer, 'jobs', 'recv').subscribe();
      const source = cold('   ----a|      ');
      const later = hot('     -------b    '); // sent at 7, acknowledged back at 11
      const expected = '      ----a------|';
      later.subscribe((v) => jobs.next(v));
      expectObservable(source.pipe(tap((v) => jobs.next(v)), drain(jobs))).toBe(expected);
    });
  });

  it('completes in the same frame when nothing is pending', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      expectObservable(cold('---|').pipe(drain(jobs))).toBe('---|');
      expectObservable(cold('|').pipe(drain(exporter))).toBe('|');
    });
  });

  it('passes the source error through at once, even with values pending', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      importChannel<string>(importer, 'jobs', 'recv').subscribe();
      const source = cold('   ----a#');
      const expected = '      ----a#';
      expectObservable(source.pipe(tap((v) => jobs.next(v)), drain(jobs))).toBe(expected);
    });
  });

  it('never completes while a value has no receiver, and unsubscribes from upstream when unsubscribed', () => {
    testScheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const { exporter } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const source = cold('   -a--------');
      const sub = '           ^-----!   ';
      const expected = '      -a-----   ';
      expectObservable(source.pipe(tap((v) => jobs.next(v)), drain(jobs)), sub).toBe(expected);
      expectSubscriptions(source.subscriptions).toBe(sub);
    });
  });

  it('exporter.drain() waits for every channel of the exporter', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const logs = exportChannel<string>(exporter, 'logs', 'send');
      importChannel<string>(importer, 'jobs', 'recv').subscribe();
      importChannel<string>(importer, 'logs', 'recv').subscribe();
      hot('----a---').subscribe((v) => jobs.next(v));
      hot('------b-').subscribe((v) => logs.next(v));
      // subscribed at 7: b (logs) is acknowledged at 10
      expectObservable(exporter.drain(), '-------^---').toBe('----------|');
    });
  });

  it('an import that unsubscribes before acknowledging: drain waits for the next receiver', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('              ----a                 ').subscribe((v) => jobs.next(v));
      const first = '    ^---------!           ';
      const held = '     ------a---            '; // manual ack, never acknowledged
      const second = '   --------------^-------';
      const got = '      ------------------a---'; // CANCEL reaches the exporter at 12 and requeues a; the 2nd OPEN arrives at 16
      const drainSub = ' -----^----------------';
      const drained = '  --------------------| '; // a acknowledged back at 20
      expectObservable(importChannel<string>(importer, 'jobs', 'recv', { ack: 'manual' }), first).toBe(held, {
        a: { value: 'a', seq: 1, ack: expect.any(Function) },
      });
      expectObservable(importChannel<string>(importer, 'jobs', 'recv'), second).toBe(got);
      expectObservable(exporter.drain(), drainSub).toBe(drained);
    });
  });
});
