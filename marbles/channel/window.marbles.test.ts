import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { concatMap, delay, map, of, share, tap } from 'rxjs';
import { exportChannel, feed, importChannel, type Delivery } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// The window (`size`) bounds the values in flight (sent, not yet acknowledged)
// to one import subscription. A value beyond it waits in the exporter's queue
// until an acknowledgement frees a slot: one ack-latency plus one data-latency later.
describe('window', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('with size 2 and manual acks, the third value waits for the first acknowledgement', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const deliveries = importChannel<string>(importer, 'jobs', 'recv', { size: 2, ack: 'manual' }).pipe(share());
      const held: Delivery<string>[] = [];
      deliveries.subscribe((d) => held.push(d));

      hot('      -----(abcd)---------------').subscribe((v) => jobs.next(v));
      const acks = '----------x-----x---------'; // the subscriber acknowledges the oldest value it holds
      // a, b fill the window at 7; ack(a) leaves at 10, reaches the exporter at 12; c arrives at 14.
      // ack(b) leaves at 16, d arrives at 20.
      const expected = '-------(ab)---c-----d-----';
      hot(acks).subscribe(() => held.shift()!.ack());
      expectObservable(deliveries.pipe(map((d) => d.value))).toBe(expected);
      // seq numbers are 1-based and per binding
      expectObservable(deliveries.pipe(map((d) => d.seq))).toBe(expected, { a: 1, b: 2, c: 3, d: 4 });
    });
  });

  it('never has more than `size` values in flight: the frames on the wire', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer, pipe } = virtualNetwork({ latency: 2 });
      const [atExporter, atImporter] = pipe();
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const held: Delivery<string>[] = [];
      importChannel<string>(importer, 'jobs', 'recv', { size: 2, ack: 'manual' }).subscribe((d) => held.push(d));
      hot('-----(abcd)---------------').subscribe((v) => jobs.next(v));
      hot('----------x-----x---------').subscribe(() => held.shift()!.ack());
      // H = HELLO, O = OPEN, D = DATA, A = ACK; each letter is the frame's arrival
      const toImporter = '  ----H--(DD)---D-----D';
      const toExporter = '  --(HO)------A-----A-';
      expectObservable(atImporter.received$.pipe(map((f) => f.type[0]))).toBe(toImporter, { H: 'H', D: 'D' });
      expectObservable(atExporter.received$.pipe(map((f) => f.type[0]))).toBe(toExporter, { H: 'H', O: 'O', A: 'A' });
    });
  });

  it('a slow stage that acknowledges when done holds the sender back; size 1 pays a round trip per value', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      ['a', 'b', 'c'].forEach((v) => jobs.next(v));
      const work = (d: Delivery<string>) => of(d.value).pipe(delay(5), tap(() => d.ack()));
      // a lands at 4, is done at 9; its ack reaches the exporter at 11, b lands at 13, done at 18, …
      const expected = '---------a--------b--------c';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv', { size: 1, ack: 'manual' }).pipe(concatMap(work))).toBe(expected);
    });
  });

  it('a slow stage with size 2: the window hides the round trip', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      ['a', 'b', 'c', 'd'].forEach((v) => jobs.next(v));
      const work = (d: Delivery<string>) => of(d.value).pipe(delay(5), tap(() => d.ack()));
      const expected = '---------a----b----c----d';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv', { size: 2, ack: 'manual' }).pipe(concatMap(work))).toBe(expected);
    });
  });

  it('automatic acks: every value is acknowledged in the frame it is delivered', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('    -----(abc)---').subscribe((v) => jobs.next(v));
      // size 1: a at 7, ack back at 9, b at 11, ack back at 13, c at 15
      const expected = '-------a---b---c';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv', { size: 1 })).toBe(expected);
    });
  });

  it('acknowledgements are cumulative: acknowledging b before a frees nothing until a is acknowledged', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const held = new Map<string, Delivery<string>>();
      const deliveries = importChannel<string>(importer, 'jobs', 'recv', { size: 2, ack: 'manual' }).pipe(share());
      deliveries.subscribe((d) => held.set(d.value, d));
      hot('      -----(abc)------------').subscribe((v) => jobs.next(v));
      hot('      ---------b---a--------').subscribe((v) => held.get(v)!.ack());
      // ack(b) at 9 sends nothing; ack(a) at 13 acknowledges both, lands at 15: c arrives at 17
      expectObservable(deliveries.pipe(map((d) => d.value))).toBe('-------(ab)------c');
    });
  });

  it('the producer paces itself: feed() pulls only as the bounded queue finds room', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send', { queueLimit: 1 });
      // queue of 1, window of 1: one value queued, one in flight; feed pulls the next as each ack lands
      // (it emits how many it has fed each time it pauses); it learns the source is exhausted when
      // room appears at 18, and completes the channel: END follows e
      const fed = '      1-2---3---4---5---(5|)';
      const received = ' ----a---b---c---d---(e|)';
      expectObservable(feed(jobs, ['a', 'b', 'c', 'd', 'e'], { complete: true })).toBe(fed, { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5 });
      expectObservable(importChannel<string>(importer, 'jobs', 'recv', { size: 1 })).toBe(received);
    });
  });
});
