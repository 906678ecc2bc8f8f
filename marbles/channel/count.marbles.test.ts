import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { exportChannel, importChannel } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// `count`: import exactly that many values, then complete (Go's ImportNValues).
// The exporter never hands a count-limited import more than it takes.
describe('count', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('completes with the last counted value, in the same frame', () => {
    testScheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const producer = hot('----a-b-c-d');
      producer.subscribe((v) => jobs.next(v));
      const expected = '    ------a-(b|)';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv', { count: 2 })).toBe(expected);
      expectSubscriptions(producer.subscriptions).toBe('^');
    });
  });

  it('the values after the first `count` go to the next receiver', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('          ----(abc)--------').subscribe((v) => jobs.next(v));
      const first = '------(ab|)      ';
      // c stays queued at the exporter until the second import's OPEN (sent at 8) arrives at 10
      const secondSub = '--------^-------';
      const second = '   ------------c---';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv', { count: 2 })).toBe(first);
      expectObservable(importChannel<string>(importer, 'jobs', 'recv'), secondSub).toBe(second);
    });
  });

  it('a count larger than the window takes several round trips', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      ['a', 'b', 'c', 'd', 'e'].forEach((v) => jobs.next(v));
      // size 2: (ab) at 4; their ack lands at 6, (c) at 8 completes the count; d and e stay queued
      const expected = '----(ab)(c|)';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv', { count: 3, size: 2 })).toBe(expected);
    });
  });

  it('count 0 completes at once without binding', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      exportChannel<string>(exporter, 'jobs', 'send');
      expectObservable(importChannel<string>(importer, 'jobs', 'recv', { count: 0 })).toBe('|');
    });
  });
});
