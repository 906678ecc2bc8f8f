import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { map, merge } from 'rxjs';
import { exportChannel, importChannel } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// Work-queue semantics: each value goes to exactly ONE bound import, round-robin
// among those with window left, like a Go channel with several receivers.
describe('several importers sharing a channel', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('hands each value to exactly one importer, round-robin', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2 });
      const second = net.connect();
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('        ----a-b-c-d-').subscribe((v) => jobs.next(v));
      const one = '------a---c-';
      const two = '--------b---d';
      expectObservable(importChannel<string>(net.importer, 'jobs', 'recv')).toBe(one);
      expectObservable(importChannel<string>(second, 'jobs', 'recv')).toBe(two);
    });
  });

  it('importers on different latencies: each value still goes to one of them', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 1 });
      const far = net.connect({ latency: 4 });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('         ------a-b-c-d').subscribe((v) => jobs.next(v));
      const near = '-------a---c-';
      const away = '------------b---d';
      expectObservable(importChannel<string>(net.importer, 'jobs', 'recv')).toBe(near);
      expectObservable(importChannel<string>(far, 'jobs', 'recv')).toBe(away);
    });
  });

  it('an importer whose window is full is skipped: the value goes to one with room', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2 });
      const second = net.connect();
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('         ----abc').subscribe((v) => jobs.next(v));
      // the first holds a without acknowledging (window 1), so b and c both go to the second
      const slow = importChannel<string>(net.importer, 'jobs', 'recv', { size: 1, ack: 'manual' }).pipe(map((d) => d.value));
      const fast = importChannel<string>(second, 'jobs', 'recv');
      expectObservable(slow).toBe('------a--');
      expectObservable(fast).toBe('-------bc');
    });
  });

  it('several subscriptions on one importer share the channel the same way', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('          ----a-b-c-').subscribe((v) => jobs.next(v));
      const x = importChannel<string>(importer, 'jobs', 'recv').pipe(map((v) => `x${v}`));
      const y = importChannel<string>(importer, 'jobs', 'recv').pipe(map((v) => `y${v}`));
      expectObservable(merge(x, y)).toBe('------a-b-c', { a: 'xa', b: 'yb', c: 'xc' });
    });
  });

  it('complete() ends every importer after its own values', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const net = virtualNetwork({ latency: 2 });
      const far = net.connect({ latency: 3 });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      cold('       -----a-b|').subscribe(jobs);
      expectObservable(importChannel<string>(net.importer, 'jobs', 'recv')).toBe('-------a--|');
      expectObservable(importChannel<string>(far, 'jobs', 'recv')).toBe('----------b|');
    });
  });
});
