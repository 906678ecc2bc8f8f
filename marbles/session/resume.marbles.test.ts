import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { exportChannel, importChannel, NetchanError } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// Resume: an importer with `reconnect` whose connection drops redials and
// resumes its session. Every binding goes on where it stopped, in both
// directions: what the peer already had is not delivered again (it is dropped
// by sequence), what it lacked is sent again from the sender's in-flight
// values. Here the pipe's latency is 2 and the importer redials 3 after a drop.
describe('resume', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  const reconnect = { initialDelay: 3, jitter: 0 };
  const dropped = new NetchanError('ECLOSED', 'connection to virtual://a failed: virtual connection dropped');

  it('exporter to importer: values and acknowledgements lost with the link are neither lost nor repeated', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, importer: { reconnect } });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('----a-b-c-d-e-f').subscribe((v) => jobs.next(v));
      hot('---------x').subscribe(() => net.drop());
      // a lands at 6 and its ACK at 8. b lands at 8, but its ACK (due at 10) is
      // lost with the link at 9, and so is c (due at 10). d, e, f wait in the
      // queue: the binding is detached. The importer redials at 12; its HELLO
      // lands at 14, the exporter answers with REPLAY, b, c and the queue: all
      // land at 16. b is already there (sequence 2): dropped. c, d, e, f arrive once.
      expectObservable(importChannel<string>(net.importer, 'jobs', 'recv')).toBe('------a-b-------(cdef)');
      expectObservable(net.importer.state$).toBe('c---o----r------o', { c: 'connecting', o: 'open', r: 'reconnecting' });
      expectObservable(net.importer.errors$).toBe('---------e', { e: dropped });
      expectObservable(net.importer.reconnects$.pipe(map((e) => `${e.type} ${e.attempts} ${e.downtime}`))).toBe('----------------r', {
        r: 'resumed 1 7',
      });
    });
  });

  it('importer to exporter: values in flight and queued during the gap arrive once, in order', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, importer: { reconnect } });
      const results = exportChannel<string>(net.exporter, 'results', 'recv');
      const send = importChannel<string>(net.importer, 'results', 'send');
      hot('-a-b-c-d-e').subscribe((v) => send.next(v));
      hot('------x').subscribe(() => net.drop());
      // a lands at 3, b at 5; c (due at 7) is lost at 6, as is b's ACK (due at 7).
      // d and e wait in the importer's queue. The importer redials at 9; its HELLO
      // lands at 11 and the exporter's answer at 13, when the importer knows the
      // session resumed: REPLAY, b, c, d, e land at 15; b is dropped as a repeat.
      expectObservable(results).toBe('---a-b---------(cde)');
      expectObservable(send).toBe('-'); // the send channel neither errors nor completes
      // drain, from 9, waits across the gap: the ACK for e lands at 17
      expectObservable(net.importer.drain(), '---------^').toBe('-----------------|');
    });
  });

  it('drain waits across the gap and completes once everything is acknowledged', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, importer: { reconnect } });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      importChannel<string>(net.importer, 'jobs', 'recv').subscribe();
      hot('----ab').subscribe((v) => jobs.next(v));
      hot('-----x').subscribe(() => net.drop());
      // a and b are lost with the link at 5; resumed at 10 (HELLO lands), they land at 12
      // and their ACK at 14.
      expectObservable(jobs.pipe(map(() => 'x')), '').toBe('-');
      expectObservable(net.exporter.drain(), '------^').toBe('--------------|');
    });
  });

  it('an END lost with the link: the import still completes after every value', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, importer: { reconnect } });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('----ab|').subscribe({ next: (v) => jobs.next(v), complete: () => jobs.complete() });
      hot('-------x').subscribe(() => net.drop());
      // a, b and END (with total 2) were sent at 4, 5, 6; a lands at 6; b (due at 7: the drop
      // comes first in that frame) and END are lost. The redial at 10 resumes at 12: END
      // (it says 2 values) and b go again and land at 14, b first.
      expectObservable(importChannel<string>(net.importer, 'jobs', 'recv')).toBe('------a-------(b|)');
    });
  });

  it('an OPEN lost with the link is sent again: a subscription made just before the drop works', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, importer: { reconnect } });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('--------a').subscribe((v) => jobs.next(v));
      hot('-------x').subscribe(() => net.drop());
      // Subscribed at 6: the OPEN (due at 8) is lost at 7. The importer redials at 10, the
      // exporter's answer lands at 14, then the OPEN goes again (lands at 16) and a lands at 18.
      expectObservable(importChannel<string>(net.importer, 'jobs', 'recv'), '------^').toBe('------------------a');
    });
  });

  it('a CANCEL lost with the link: what the import had not acknowledged goes to another importer, once', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, importer: { reconnect } });
      const other = net.connect();
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('-----abcd').subscribe((v) => jobs.next(v));
      hot('----------x').subscribe(() => net.drop());
      // The manual import holds a (lands at 7) and would get c at 9, but unsubscribes at 9
      // first (c arrives for a binding already gone: ignored). Its CANCEL (due at 11) is lost
      // at 10. The importer redials at 13; the exporter's answer lands at 17 (with a and c
      // again: dropped, the binding is gone); the CANCEL goes again and lands at 19: a and c
      // go back to the queue, and reach \`other\` at 21. Nothing twice, nothing lost.
      expectObservable(importChannel<string>(net.importer, 'jobs', 'recv', { ack: 'manual' }).pipe(map((d) => d.value)), '^--------!').toBe(
        '-------a-',
      );
      expectObservable(importChannel<string>(other, 'jobs', 'recv')).toBe('--------b-d----------(ac)');
    });
  });

  it('past resumeGrace: a new session; live imports are bound afresh and values in flight may repeat', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, exporter: { resumeGrace: 5 }, importer: { reconnect: { initialDelay: 10, jitter: 0 } } });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('----a-b').subscribe((v) => jobs.next(v));
      hot('-------x').subscribe(() => net.drop());
      // a lands at 6; its ACK (due at 8) and b (due at 8) are lost with the link at 7. The
      // session expires at 12 (grace 5): a and b, unacknowledged, go back to the queue. The
      // importer redials at 17; the exporter's answer (a new session) lands at 21, the import
      // is opened again (lands at 23) and a and b land at 25. a arrives twice: it had been
      // delivered, but its acknowledgement was lost, and the session that knew it was gone.
      expectObservable(importChannel<string>(net.importer, 'jobs', 'recv')).toBe('------a------------------(ab)');
      expectObservable(net.importer.reconnects$.pipe(map((e) => `${e.type} ${e.exporterRestarted} ${e.downtime}`))).toBe('---------------------n', {
        n: 'new-session false 14',
      });
    });
  });

  it('close() while reconnecting stops the attempts and ends everything in the same frame', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, importer: { reconnect: { initialDelay: 100, jitter: 0 } } });
      exportChannel<string>(net.exporter, 'jobs', 'send');
      hot('-----x').subscribe(() => net.drop());
      hot('--------c').subscribe(() => void net.importer.close());
      expectObservable(importChannel<string>(net.importer, 'jobs', 'recv')).toBe('--------|');
      expectObservable(net.importer.state$).toBe('c---or--(x|)', { c: 'connecting', o: 'open', r: 'reconnecting', x: 'closed' });
    });
  });
});
