import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { NetchanError } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// Keepalive runs only on links that report `keepalive: true` (virtualPipe's
// option; TCP and WebSocket do). Every `interval` each side checks how long it
// has heard nothing: a PING after `interval`, the connection closed with
// 'ECLOSED' when that PING is still unanswered an interval later. Its timer runs on asyncScheduler: virtual here.
describe('keepalive', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('an idle link exchanges PING and PONG', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, keepalive: true, exporter: { keepalive: 10 }, importer: { keepalive: 10 } });
      const [atExporter, atImporter] = net.pipe();
      // checks at 10 (HELLO heard at 2 / 4: not idle long enough) and at 20: both send a PING,
      // which lands at 22; the PONGs land at 24. The close at 28 ends the link (and the timers) at 30.
      hot('----------------------------c').subscribe(() => net.close());
      const toExporter = '--H-------------------P-P-----(B|)';
      const toImporter = '----H-----------------P-P-----|';
      const letters = map((f: { type: string }) => f.type[0]);
      expectObservable(atExporter.received$.pipe(letters)).toBe(toExporter, { H: 'H', P: 'P', B: 'B' });
      expectObservable(atImporter.received$.pipe(letters)).toBe(toImporter, { H: 'H', P: 'P' });
    });
  });

  it('a stalled link (no frames, no close) is detected after twice the interval', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2, keepalive: true, exporter: { keepalive: 10 }, importer: { keepalive: 10 } });
      hot('------------s').subscribe(() => net.pipe()[1].stall());
      // last frame heard: HELLO at 4; the check at 20 sends a PING (lost), the check at 30 gives up
      const err = new NetchanError('ECLOSED', 'connection to virtual://a: nothing received for 26 ms, PING unanswered (keepalive 10 ms)');
      expectObservable(net.importer.errors$).toBe('------------------------------(e|)', { e: err });
      const exporterErr = new NetchanError('ECLOSED', 'connection to virtual://b: nothing received for 28 ms, PING unanswered (keepalive 10 ms)');
      expectObservable(net.exporter.errors$).toBe('------------------------------e', { e: exporterErr });
    });
  });
});
