import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { NetchanError } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// Keepalive runs only on links that report `keepalive: true` (virtualPipe's
// option; TCP and WebSocket do). Each side counts from the last frame it
// received: once `interval` passes without one it sends a PING, and once that
// PING has gone unanswered as long again it drops the connection with
// 'ECLOSED'. A dead peer is therefore noticed exactly 2 × interval after it was
// last heard (the timer is re-armed from the last input, not on a fixed beat).
// Its timer runs on asyncScheduler: virtual here.
describe('keepalive', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('an idle link exchanges PING and PONG', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, keepalive: true, exporter: { keepalive: 10 }, importer: { keepalive: 10 } });
      const [atExporter, atImporter] = net.pipe();
      // The exporter last heard the importer at 2 (HELLO): PING at 12, lands at 14.
      // The importer last heard the exporter at 4: PING at 14 (lands at 16) just
      // before the exporter's PING reaches it, which it answers at 14 (PONG lands at 16);
      // the exporter's PONG lands at 18. The exporter next PINGs at 26 (10 after 16),
      // landing at 28; the close at 28 ends the link (and the timers) at 30.
      hot('----------------------------c').subscribe(() => net.close());
      const toExporter = '--H-------------(PP)----------(B|)';
      const toImporter = '----H---------P---P---------P-|';
      const letters = map((f: { type: string }) => f.type[0]);
      expectObservable(atExporter.received$.pipe(letters)).toBe(toExporter, { H: 'H', P: 'P', B: 'B' });
      expectObservable(atImporter.received$.pipe(letters)).toBe(toImporter, { H: 'H', P: 'P' });
    });
  });

  it('a stalled link (no frames, no close) is detected twice the interval after the last frame', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, keepalive: true, exporter: { keepalive: 10 }, importer: { keepalive: 10 } });
      hot('------------s').subscribe(() => net.pipe()[1].stall());
      // The importer last heard the exporter at 4: its PING at 14 is lost, and at 24 it gives up.
      const err = new NetchanError('ECLOSED', 'connection to virtual://a: nothing received for 20 ms, PING unanswered (keepalive 10 ms)');
      expectObservable(net.importer.errors$).toBe('------------------------(e|)', { e: err });
      // The exporter last heard the importer at 2: PING at 12 (lost with the stall), gives up at 22.
      const exporterErr = new NetchanError('ECLOSED', 'connection to virtual://b: nothing received for 20 ms, PING unanswered (keepalive 10 ms)');
      expectObservable(net.exporter.errors$).toBe('----------------------e', { e: exporterErr });
    });
  });
});
