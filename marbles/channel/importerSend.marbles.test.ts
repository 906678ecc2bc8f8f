import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { map, share, tap } from 'rxjs';
import { DrainTimeoutError, drain, exportChannel, importChannel, sync, type Delivery } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// Importer-side sends: importChannel(…, 'send') into the exporter's 'recv'
// channel. The window and drain work the same way in this direction; the
// first values travel with HELLO and OPEN, without waiting for a round trip.
describe("importer-side sends ('send' import -> exported 'recv')", () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('values sent at once travel with the handshake: no round trip first', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const results = exportChannel<string>(exporter, 'results', 'recv');
      const send = importChannel<string>(importer, 'results', 'send');
      send.next('a');
      expectObservable(results).toBe('--a');
    });
  });

  it('delivers each value `latency` after it was sent', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 3 });
      const results = exportChannel<string>(exporter, 'results', 'recv');
      const send = importChannel<string>(importer, 'results', 'send');
      hot('     -a--b-c---').subscribe((v) => send.next(v));
      expectObservable(results).toBe('----a--b-c');
    });
  });

  it('window: with size 2 and manual acks at the exporter, the third value waits for the first acknowledgement', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const results = exportChannel<string>(exporter, 'results', 'recv', { ack: 'manual' }).pipe(share());
      const held: Delivery<string>[] = [];
      results.subscribe((d) => held.push(d));
      const send = importChannel<string>(importer, 'results', 'send', { size: 2 });
      hot('      ---(abcd)------------').subscribe((v) => send.next(v));
      hot('      ---------x-----x-----').subscribe(() => held.shift()!.ack());
      // a, b land at 5; ack(a) leaves at 9 and lands at 11, c arrives at 13; ack(b) at 15 -> d at 19
      const expected = '-----(ab)----c-----d';
      expectObservable(results.pipe(map((d) => d.value))).toBe(expected);
      // what the importer still has unacknowledged (queued + in flight), sampled the frame after each change
      expectObservable(hot('---s--------s-----s-').pipe(map(() => send.pending))).toBe('---4--------3-----2-', {
        4: 4, 3: 3, 2: 2,
      });
    });
  });

  it('importer.drain() completes when the exporter has acknowledged every value sent', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      exportChannel<string>(exporter, 'results', 'recv').subscribe();
      const send = importChannel<string>(importer, 'results', 'send');
      hot('     ---a---b-----').subscribe((v) => send.next(v));
      const sub = '----^--------';
      const expected = '-----------|'; // b, sent at 7, is acknowledged back at 11
      expectObservable(importer.drain(), sub).toBe(expected);
    });
  });

  it('drain(sendChannel) waits while the exporter holds values for a subscriber that has not come yet', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const results = exportChannel<string>(exporter, 'results', 'recv');
      const send = importChannel<string>(importer, 'results', 'send');
      const source = cold('  -a-b|           ');
      // nobody subscribes to `results` until 8: a and b are held unacknowledged, then delivered and acked
      const resultsSub = '   --------^-------';
      const received = '     --------(ab)----';
      const expected = '     -a-b------|     '; // acks leave at 8, land at 10
      expectObservable(results, resultsSub).toBe(received);
      expectObservable(source.pipe(tap((v) => send.next(v)), drain(send))).toBe(expected);
    });
  });

  it('sync(importer) does not wait for values sent after it', () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      exportChannel<string>(exporter, 'results', 'recv').subscribe();
      const send = importChannel<string>(importer, 'results', 'send');
      hot('                  ------b').subscribe((v) => send.next(v));
      const source = cold('  ----a|     ');
      const synced = '       ----a---|  ';
      const drained = '      ----a-----|';
      expectObservable(source.pipe(tap((v) => send.next(v)), sync(importer))).toBe(synced);
      expectObservable(cold('-----|').pipe(drain(importer))).toBe(drained.replace('a', '-'));
    });
  });

  it('importer.drain(timeout) errors with ETIMEDOUT when the exporter does not acknowledge', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      exportChannel<string>(exporter, 'results', 'recv', { ack: 'manual' }).subscribe(); // never acks
      importChannel<string>(importer, 'results', 'send').next('a');
      expectObservable(importer.drain(6), '---^').toBe('---------#', undefined, new DrainTimeoutError('drain', 1, 6));
    });
  });

  it('several importers sending into one exported channel: it completes when the last one completes', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const net = virtualNetwork({ latency: 2 });
      const other = net.connect({ latency: 1 });
      const results = exportChannel<string>(net.exporter, 'results', 'recv');
      cold('  --a---|').subscribe(importChannel<string>(net.importer, 'results', 'send'));
      cold('  -----b--c-|').subscribe(importChannel<string>(other, 'results', 'send')); // latency 1
      expectObservable(results).toBe('----a-b--c-|');
    });
  });
});
