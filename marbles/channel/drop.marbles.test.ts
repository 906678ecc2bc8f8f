import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { defer, map } from 'rxjs';
import { exportChannel, importChannel, NetchanError } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// A dropped connection loses nothing: the values its import had not
// acknowledged go back to the front of the exporter's queue for the other
// receivers, in the frame of the drop. Delivery is therefore at-least-once:
// only values in flight at the drop (at most `size`) can arrive twice.
describe('a dropped connection', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  const dropped = (why: string) => new NetchanError('ECLOSED', `connection to virtual://a failed: virtual connection ${why}`);

  it('at a chosen time: the unacknowledged values go to the other importer', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2 });
      const flaky = net.connect({ dropAt: 10 });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('              ----(abcd)--------').subscribe((v) => jobs.next(v));
      // the flaky importer holds what it gets (manual ack, never acknowledged) until its link drops at 10
      const held = importChannel<string>(flaky, 'jobs', 'recv', { ack: 'manual' }).pipe(map((d) => d.value));
      const steady = importChannel<string>(net.importer, 'jobs', 'recv');
      expectObservable(held).toBe('    ------(ac)#       ', undefined, dropped('dropped at 10'));
      expectObservable(steady).toBe('  ------(bd)--(ac)  '); // requeued at 10, delivered at 12
      expectObservable(flaky.errors$).toBe('----------(e|)', { e: dropped('dropped at 10') });
    });
  });

  it('at a chosen frame: an acknowledgement lost with the link makes its value arrive twice', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2 });
      // cut the link just as the flaky importer's first ACK would reach the exporter
      const flaky = net.connect({ dropOn: (f) => f.from === 'b' && f.type === 'ACK' });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('              ----ab----').subscribe((v) => jobs.next(v));
      const first = importChannel<string>(flaky, 'jobs', 'recv');
      const steady = importChannel<string>(net.importer, 'jobs', 'recv');
      // a reached the flaky importer at 6, but its ACK is lost with the link at 8: a goes out again
      expectObservable(first).toBe('   ------a-#', undefined, dropped('dropped at frame 5 (ACK from b)'));
      expectObservable(steady).toBe('  -------b--a'); // requeued at 8, delivered at 10
    });
  });

  it('with no other receiver, the values wait for the next importer to connect', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, dropAt: 7 });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('          ----a-------').subscribe((v) => jobs.next(v));
      expectObservable(importChannel<string>(net.importer, 'jobs', 'recv', { ack: 'manual' }).pipe(map((d) => d.value))).toBe(
        '------a#',
        undefined,
        dropped('dropped at 7'),
      );
      // a new importer connects at 9: HELLO and OPEN reach the exporter at 11,
      // a arrives at 13 and is acknowledged back at 15
      const later = '     ---------^-----';
      const delivered = ' -------------a-';
      const drained = '   ---------------|';
      const next = defer(() => importChannel<string>(net.connect(), 'jobs', 'recv'));
      expectObservable(next, later).toBe(delivered);
      expectObservable(net.exporter.drain(), '-----^').toBe(drained);
    });
  });

  it('drop() from the test: both ends see the drop in the same frame; frames in flight are lost', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 3 });
      const results = exportChannel<string>(net.exporter, 'results', 'recv');
      const send = importChannel<string>(net.importer, 'results', 'send');
      hot('    -a---b--').subscribe((v) => send.next(v));
      hot('    -------x').subscribe(() => net.drop());
      // b, sent at 5, would have arrived at 8: lost with the link at 7
      expectObservable(results).toBe('----a---');
      expectObservable(send).toBe('-------#', undefined, dropped('dropped'));
      expectObservable(net.importer.drain(), '------^').toBe('-------#', undefined, dropped('dropped'));
    });
  });
});
