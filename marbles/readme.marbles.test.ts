// The example of the README section "Testing your code with marble diagrams",
// verbatim except for the import paths (the README imports 'rx-netchan' and
// 'rx-netchan/testing'; here the sources are imported directly).
import { expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { map, tap, timer, type Observable } from 'rxjs';
import { ackWhenDone, drain, exportChannel, importChannel } from '../src/index.js';
import { virtualNetwork } from '../src/testing.js';

// The code under test: prices a stream of orders it imports from the network.
function priceOrders(orders: Observable<{ qty: number }>): Observable<number> {
  return orders.pipe(map((o) => o.qty * 5));
}

it('prices each order 2 ms after it was sent; the sender drains when all are acknowledged', () => {
  const testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

  testScheduler.run(({ cold, expectObservable }) => {
    // An Exporter and an Importer joined by a virtual pipe: each frame takes 2 virtual ms.
    const { exporter, importer } = virtualNetwork({ latency: 2 });
    const orders = exportChannel<{ qty: number }>(exporter, 'orders', 'send');

    const values = { a: { qty: 1 }, b: { qty: 3 } };
    const source = cold(' ----a-b-|   ', values);
    const sent = '        ----a-b---| '; // drain: completes when b's acknowledgement is back (6 + 2 + 2)
    const priced = '      ------x-y   '; // each order lands 2 ms after it was sent

    expectObservable(source.pipe(tap((o) => orders.next(o)), drain(orders))).toBe(sent, values);
    expectObservable(priceOrders(importChannel(importer, 'orders', 'recv'))).toBe(priced, { x: 5, y: 15 });
  });
});

it('a slow worker holds the window: the third order waits for the first acknowledgements', () => {
  const testScheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

  testScheduler.run(({ hot, expectObservable }) => {
    const { exporter, importer } = virtualNetwork({ latency: 2 });
    const orders = exportChannel<string>(exporter, 'orders', 'send');
    hot('--(abc)').subscribe((o) => orders.next(o));

    // Window of 2; each order takes the worker 5 ms and is acknowledged when done.
    const work = (o: string) => timer(5).pipe(map(() => o.toUpperCase()));
    const done = '---------(AB)-----C'; // a, b land at 4 and are done at 9; their ack is back at 11,
    //                                     so c is sent at 11, lands at 13, and is done at 18
    const results = importChannel<string>(importer, 'orders', 'recv', { size: 2, ack: 'manual' }).pipe(ackWhenDone(work, 2));
    expectObservable(results).toBe(done, { A: 'A', B: 'B', C: 'C' });
  });
});
