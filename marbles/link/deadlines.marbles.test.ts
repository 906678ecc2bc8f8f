import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { Exporter, Importer, exportChannel, importChannel, NetchanError } from '../../src/index.js';
import { virtualNetwork, virtualPipe } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// The deadlines a link keeps, in virtual time: a connection that never says
// HELLO is closed after handshakeTimeout; a dead peer is dropped by keepalive
// at once (no close handshake to wait for), and its values go to another
// importer in that same frame.
describe('link deadlines', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('a connection that never sends HELLO is closed after handshakeTimeout with ETIMEDOUT', () => {
    testScheduler.run(({ expectObservable }) => {
      const exporter = new Exporter({ handshakeTimeout: 10 });
      const [a, b] = virtualPipe({ latency: 2 });
      exporter.serveConnection(a);
      b.start({ onData: () => {}, onClose: () => {} }); // a stranger that connects and says nothing
      const err = new NetchanError('ETIMEDOUT', 'connection to virtual://b: no HELLO within 10 ms (handshakeTimeout)');
      expectObservable(exporter.errors$).toBe('----------e---------|', { e: err }); // completes with close() at 20
      expectObservable(b.received$.pipe(map((f) => f.type))).toBe('----------|'); // no frame at all, not even ERROR: reset at 10
      testScheduler.schedule(() => void exporter.close(), 20);
    });
  });

  it('an importer whose exporter never answers gives up after handshakeTimeout', () => {
    testScheduler.run(({ expectObservable }) => {
      const [a, b] = virtualPipe({ latency: 2 });
      a.start({ onData: () => {}, onClose: () => {} }); // a server that accepts and never answers
      const importer = new Importer(b, { handshakeTimeout: 10 });
      const err = new NetchanError('ETIMEDOUT', 'connection to virtual://a: no HELLO within 10 ms (handshakeTimeout)');
      expectObservable(importer.errors$).toBe('----------(e|)', { e: err });
      expectObservable(importChannel(importer, 'jobs', 'recv')).toBe('----------#', undefined, err);
    });
  });

  it('keepalive: a stalled importer is dropped at 2 × interval after it was last heard, and its values go to another importer at once', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, keepalive: true, exporter: { keepalive: 10 }, importer: { keepalive: 10 } });
      const steady = net.connect({ keepalive: false });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      importChannel<string>(net.importer, 'jobs', 'recv', { ack: 'manual' }).subscribe({ error: () => {} }); // holds a, never acks
      hot('----a').subscribe((v) => jobs.next(v));
      hot('-------s').subscribe(() => net.pipe()[1].stall());
      // The exporter last heard the stalled importer at 2 (HELLO, OPEN): PING at 12, unanswered,
      // dropped at 22. a goes to the steady importer then, landing at 24.
      expectObservable(importChannel<string>(steady, 'jobs', 'recv')).toBe('------------------------a');
    });
  });
});
