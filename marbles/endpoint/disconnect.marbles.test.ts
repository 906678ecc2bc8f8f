import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { map, take } from 'rxjs';
import { exportChannel, importChannel, NetchanError, type Delivery } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// A graceful disconnect, in virtual time (pipe latency 2). disconnect(grace)
// stops new values to the client at once; what is in flight may still be
// acknowledged until the grace ends; then the exporter says BYE 'disconnect'
// and closes, and what is still unacknowledged goes back to the queue.
describe('disconnect', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  const bye = new NetchanError('ECLOSED', 'disconnected by the exporter at virtual://a');

  it('values in flight: one acknowledged in the grace stays delivered, the other goes to the next importer when the grace ends', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      const held: Array<Delivery<string>> = [];
      importChannel<string>(net.importer, 'jobs', 'recv', { ack: 'manual' }).subscribe({ next: (d) => held.push(d), error: () => {} });
      hot('--ab').subscribe((v) => jobs.next(v)); // a and b land at 4 and 5, held (not acknowledged)
      // At 6 the exporter disconnects the client with a grace of 10: c, sent at 7, is not for it.
      hot('------x').subscribe(() => net.exporter.clients[0]!.disconnect(10));
      hot('-------c').subscribe((v) => jobs.next(v));
      // At 8 the importer acknowledges a (its ACK lands at 10); b stays unacknowledged.
      hot('--------x').subscribe(() => held[0]!.ack());
      // The grace ends at 16: BYE lands at 18, the importer closes its end, and once the
      // connection is gone (18: the pipe's close) b goes back to the front of the queue.
      const late = net.connect();
      const second = importChannel<string>(late, 'jobs', 'recv');
      // The second importer connected at 0, so it took c at 7 (lands at 9); b reaches it at 20.
      expectObservable(second, '^').toBe('---------c----------b');
      expectObservable(net.importer.state$).toBe('c---o-------------(x|)', { c: 'connecting', o: 'open', x: 'closed' });
      expectObservable(net.importer.errors$).toBe('------------------(e|)', { e: bye });
      // Both clients in the handshake at 0, open at 2 (HELLO landed); the first disconnecting at 6, gone at 18.
      expectObservable(net.exporter.clients$.pipe(map((l) => l.map((c) => c.state[0]).join('')))).toBe('a-(bc)d-----------e', {
        a: 'hh',
        b: 'ho',
        c: 'oo',
        d: 'do',
        e: 'o',
      });
    });
  });

  it('with nothing in flight the goodbye goes at once; metrics$ samples on the scheduler', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2 });
      exportChannel<string>(net.exporter, 'jobs', 'send');
      importChannel<string>(net.importer, 'jobs', 'recv').subscribe({ error: () => {} });
      hot('------x').subscribe(() => void net.exporter.disconnect(1_000));
      expectObservable(net.importer.state$).toBe('c---o---(x|)', { c: 'connecting', o: 'open', x: 'closed' });
      expectObservable(net.exporter.metrics$(3).pipe(map((m) => m.clients.length), take(4))).toBe('a--b--c--(d|)', { a: 1, b: 1, c: 1, d: 0 });
    });
  });
});
