import { beforeEach, describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { exportChannel, importChannel } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// close(): a graceful end (BYE). Over a virtual pipe the connection ends
// `latency` after close(), once everything written before it has arrived.
describe('close', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('exporter.close(): imports complete when the BYE lands (a goodbye is not an error); errors$ complete in virtual time', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('----a---').subscribe((v) => jobs.next(v));
      hot('--------c').subscribe(() => void exporter.close());
      // BYE leaves at 8 and lands at 10: the import completes, like a hangup of every channel.
      expectObservable(importChannel<string>(importer, 'jobs', 'recv')).toBe('------a---|');
      expectObservable(importer.errors$).toBe('----------|');
      // connecting until the exporter's HELLO lands at 4, closed (for good: no reconnect) at 10.
      expectObservable(importer.state$).toBe('c---o-----(x|)', { c: 'connecting', o: 'open', x: 'closed' });
      expectObservable(exporter.errors$).toBe('----------|');
    });
  });

  it('importer.close(): its imports complete; what it had not acknowledged goes to another importer', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2 });
      const other = net.connect();
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('----ab---').subscribe((v) => jobs.next(v));
      hot('--------c').subscribe(() => void net.importer.close());
      const manual = importChannel<string>(net.importer, 'jobs', 'recv', { ack: 'manual' });
      expectObservable(manual).toBe('------a---|', { a: { value: 'a', seq: 1, ack: expect.any(Function) } }); // never acknowledged
      expectObservable(importChannel<string>(other, 'jobs', 'recv')).toBe('-------b----a'); // requeued at 10, delivered at 12
      expectObservable(net.importer.errors$).toBe('----------|');
    });
  });
});
