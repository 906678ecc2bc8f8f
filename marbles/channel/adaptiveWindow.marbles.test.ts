import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { buffer, debounceTime, filter, map, share, type Observable } from 'rxjs';
import { decode } from '@msgpack/msgpack';
import { exportChannel, importChannel, type Delivery } from '../../src/index.js';
import { virtualNetwork, type VirtualFrame } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

/** How many values arrive in each frame in which any arrive. */
function arrivals<T>(values: Observable<T>): Observable<number> {
  const shared = values.pipe(share());
  return shared.pipe(
    buffer(shared.pipe(debounceTime(0))),
    map((b) => b.length),
  );
}

// When `size` is left unset the window adapts (docs/PROTOCOL.md, "Adaptive windows"):
// it starts at 1,024 values, and its sender grows it while the round trip, not the
// receiver, is what holds it back. With `size` set it is fixed, as before.
describe('adaptive window', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('size unset: 20,000 queued values cross a 20 ms round trip in 3 round trips, not 20', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 10 });
      const jobs = exportChannel<number>(exporter, 'jobs', 'send', { queueLimit: Infinity });
      for (let i = 0; i < 20_000; i++) jobs.next(i);
      // OPEN lands at 10: the first 1,024 arrive at 20. Their ACK lands at 30 and times the
      // first round (20 ms: the base); the next 1,024 arrive at 40. The importer acknowledges
      // those in two ACKs (the first at half the window, mid-read). The first lands at 50 and
      // ends a round that came back as fast as the base, while the exporter had filled the
      // window at once (under 1 ms: it could have filled it 20 times in the round): the
      // window grows twentyfold, to 20,480, and the remaining 17,952 all arrive at 60.
      const expected = '20ms a 19ms a 19ms b';
      expectObservable(arrivals(importChannel<number>(importer, 'jobs', 'recv'))).toBe(expected, { a: 1024, b: 17_952 });
    });
  });

  it('size set: the same values take 20 round trips of 1,024', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 10 });
      const jobs = exportChannel<number>(exporter, 'jobs', 'send', { queueLimit: Infinity });
      for (let i = 0; i < 20_000; i++) jobs.next(i);
      const rounds = Array.from({ length: 19 }, () => 'a').join(' 19ms ');
      const expected = `20ms ${rounds} 19ms b`;
      expectObservable(arrivals(importChannel<number>(importer, 'jobs', 'recv', { size: 1024 }))).toBe(expected, { a: 1024, b: 20_000 - 19 * 1024 });
    });
  });

  it('two receivers sharing a channel keep their windows at the start: a work queue stays fair (1,024 each per round trip)', () => {
    testScheduler.run(({ expectObservable }) => {
      const net = virtualNetwork({ latency: 10 });
      const other = net.connect();
      const jobs = exportChannel<number>(net.exporter, 'jobs', 'send', { queueLimit: Infinity });
      for (let i = 0; i < 10_000; i++) jobs.next(i);
      const a = arrivals(importChannel<number>(net.importer, 'jobs', 'recv'));
      const b = arrivals(importChannel<number>(other, 'jobs', 'recv'));
      // Each gets a full window per round trip; the last round splits what is left.
      expectObservable(a).toBe('20ms w 19ms w 19ms w 19ms w 19ms x', { w: 1024, x: 1024 });
      expectObservable(b).toBe('20ms w 19ms w 19ms w 19ms w 19ms x', { w: 1024, x: 784 });
    });
  });

  it('a slow consumer (manual acknowledgements, 1 per ms) never makes it grow: at most 1,024 values are ever held unacknowledged', () => {
    testScheduler.run(({ expectObservable, hot }) => {
      const { exporter, importer } = virtualNetwork({ latency: 10 });
      const jobs = exportChannel<number>(exporter, 'jobs', 'send', { queueLimit: Infinity });
      for (let i = 0; i < 5000; i++) jobs.next(i);
      const held: Delivery<number>[] = [];
      let most = 0;
      importChannel<number>(importer, 'jobs', 'recv', { ack: 'manual' }).subscribe((d) => {
        held.push(d);
        most = Math.max(most, held.length);
      });
      // The consumer acknowledges the oldest value it holds once per ms, from 20 to 4,000.
      hot(`20ms ${Array.from({ length: 3980 }, () => 'x').join('')}`).subscribe(() => held.shift()?.ack());
      const mostHeld = hot('4100ms s').pipe(map(() => most));
      expectObservable(mostHeld).toBe('4100ms m', { m: 1024 });
    });
  });

  it('the importer announces it on the wire: OPEN [1, id, name, dir, 1024, count, 65536] when size is unset, 6 elements when set', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer, pipe } = virtualNetwork({ latency: 2 });
      const [atExporter] = pipe();
      exportChannel<number>(exporter, 'jobs', 'send');
      importChannel<number>(importer, 'jobs', 'recv').subscribe();
      importChannel<number>(importer, 'jobs', 'recv', { size: 8 }).subscribe();
      const opens = atExporter.received$.pipe(
        filter((f: VirtualFrame) => f.type === 'OPEN'),
        map((f) => JSON.stringify(decode(f.bytes.subarray(4)))),
      );
      expectObservable(opens).toBe('--(ab)', { a: '[1,1,"jobs",0,1024,-1,65536]', b: '[1,3,"jobs",0,8,-1]' });
    });
  });
});
