import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { count, defer, map, share, switchMap, take, toArray } from 'rxjs';
import { exportChannel, importChannel, type Delivery } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// The halves of Go's netchan scenarios (test/netchan.test.ts, test/channel/*.test.ts
// on real sockets) that prove something does NOT happen: a sync that must not
// complete yet, a window that must stay full, a channel that must stay open.
// On a real network that can only be guessed after a pause; here it is exact.
// Latency 2: a frame written at t lands at t+2; HELLO and OPEN written at 0
// land at 2, so a value sent before 2 waits in the exporter's queue until then.
describe('netchan scenarios in virtual time', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it("sync waits for manual acknowledgements: delivered is not enough (Go's Sync returned at once), and later values are not waited for", () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const deliveries = importChannel<string>(importer, 'jobs', 'recv', { size: 10, ack: 'manual' }).pipe(share());
      const held: Delivery<string>[] = [];
      deliveries.subscribe((d) => held.push(d));
      hot('                    ----ab---cd---------').subscribe((v) => jobs.next(v));
      hot('                    -------------x--y--z').subscribe(() => (held.length === 2 ? held.splice(0).forEach((d) => d.ack()) : held.shift()!.ack()));
      // a, b delivered at 6, 7; c, d (sent after sync subscribed) at 11, 12
      expectObservable(deliveries.pipe(map((d) => d.value))).toBe('------ab---cd-------');
      // sync at 8 snapshots a and b: ack(a) lands at 15, ack(b) at 18
      expectObservable(exporter.sync(), '--------^           ').toBe('------------------|');
      // drain also waits for c and d: acknowledged at 19, back at 21
      expectObservable(exporter.drain(), '--------^           ').toBe('---------------------|');
    });
  });

  it('importer.sync() waits until the exporter acknowledges what was sent before it', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const inbox = exportChannel<string>(exporter, 'inbox', 'recv', { ack: 'manual' }).pipe(share());
      const held: Delivery<string>[] = [];
      inbox.subscribe((d) => held.push(d));
      const send = importChannel<string>(importer, 'inbox', 'send', { size: 5 });
      hot('       -ab--------').subscribe((v) => send.next(v));
      hot('       --------x-y').subscribe(() => held.shift()!.ack());
      // a, b land at 3, 4; ack(a) at 8 lands at 10, ack(b) at 10 lands at 12
      expectObservable(inbox.pipe(map((d) => d.value))).toBe('---ab------');
      expectObservable(importer.sync(), '-----^').toBe('------------|');
    });
  });

  it('TestIndependentSends: a channel nobody reads holds its sender at the window, and does not hold up another channel', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const inch = exportChannel<number>(exporter, 'exportedRecv', 'recv');
      const outch = exportChannel<number>(exporter, 'exportedSend', 'send');
      const ctlch = exportChannel<number>(exporter, 'exportedCtl', 'recv');
      // Loop exportedRecv back to exportedSend, but only after a value on exportedCtl.
      ctlch.pipe(take(1), switchMap(() => inch.pipe(take(10)))).subscribe((x) => outch.next(x));
      const send = importChannel<number>(importer, 'exportedRecv', 'send', { size: 3 });
      for (let i = 0; i < 10; i++) send.next(i);
      const got = importChannel<number>(importer, 'exportedSend', 'recv', { size: 3, count: 10 }).pipe(share());
      const ctl = importChannel<number>(importer, 'exportedCtl', 'send', { size: 1, count: 1 });
      hot('----------c').subscribe(() => ctl.next(0));
      // Until the control value lands at 12, nothing comes back, and the sender has
      // all 10 values pending: 3 in flight (held by the exporter), 7 in its queue.
      // The held three are delivered at 12; their acks land at 14 and three more go out.
      const pending = hot('-----s-----s---s', { s: 0 }).pipe(map(() => [send.pending, send.queued]));
      expectObservable(pending).toBe('-----a-----a---b', { a: [10, 7], b: [7, 4] });
      // The three held values go out at 12 and land at 14; all ten arrive, then the import completes.
      expectObservable(got.pipe(take(1))).toBe('--------------(0|)', { 0: 0 });
      expectObservable(got.pipe(count())).toBe('--------------------------(n|)', { n: 10 });
    });
  });

  it('TestExportFlowControl: a stalled importer holds the sender at exactly its window; the rest waits in the queue', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send', { queueLimit: 100 });
      const deliveries = importChannel<string>(importer, 'jobs', 'recv', { size: 3, ack: 'manual' }).pipe(share());
      const held: Delivery<string>[] = [];
      let flowing = false;
      deliveries.subscribe((d) => (flowing ? d.ack() : held.push(d)));
      hot('--(abcdefgh)').subscribe((v) => jobs.next(v));
      hot('------------x').subscribe(() => {
        flowing = true;
        held.splice(0).forEach((d) => d.ack());
      });
      // Long after the first window landed at 4, still exactly 3 delivered and held, 8 pending, 5 of them queued.
      // The acks leave at 12 and land at 14: d, e, f go out (2 left queued), land at 16 and are
      // acknowledged at once; those acks land at 18 and g, h go out; theirs land at 22.
      const state = hot('-----s----s----s---s---s', { s: 0 }).pipe(map(() => [held.length, jobs.pending, jobs.queued]));
      expectObservable(state).toBe('-----a----a----b---c---d', { a: [3, 8, 5], b: [0, 5, 2], c: [0, 2, 0], d: [0, 0, 0] });
      const arrivals = deliveries.pipe(map((d) => `${d.value}@${testScheduler.now()}`), take(8), toArray());
      expectObservable(arrivals).toBe('--------------------(x|)', { x: ['a@4', 'b@4', 'c@4', 'd@16', 'e@16', 'f@16', 'g@20', 'h@20'] });
    });
  });

  it('with nobody subscribed to the exported recv channel, exactly the window crosses and is held unacknowledged until a subscriber comes', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer, pipe } = virtualNetwork({ latency: 2 });
      const [atExporter] = pipe();
      const inbox = exportChannel<string>(exporter, 'inbox', 'recv');
      const send = importChannel<string>(importer, 'inbox', 'send', { size: 3 });
      'abcdefgh'.split('').forEach((v) => send.next(v));
      send.complete();
      const at = <T>(label: (x: T) => string) => map((x: T) => `${label(x)}@${testScheduler.now()}`);
      // The window's three values travel with the handshake and are held: no ACK goes back, nothing more comes.
      const state = hot('-----s----s----', { s: 0 }).pipe(map(() => [send.pending, send.queued]));
      expectObservable(state).toBe('-----a----a----', { a: [8, 5] });
      // A subscriber at 12 gets the three held values at once; their acks land at 14, d, e, f
      // arrive at 16 and are acknowledged at once; then g, h and END at 20, and the channel completes.
      const inboxSub = '------------^';
      expectObservable(inbox.pipe(at((v: string) => v), toArray()), inboxSub).toBe('--------------------(x|)', {
        x: ['a@12', 'b@12', 'c@12', 'd@16', 'e@16', 'f@16', 'g@20', 'h@20'],
      });
      // The frames as they reach the exporter (H = HELLO, O = OPEN, D = DATA, E = END).
      expectObservable(atExporter.received$.pipe(at((f) => f.type[0]!), take(11), toArray())).toBe('--------------------(x|)', {
        x: ['H@2', 'O@2', 'D@2', 'D@2', 'D@2', 'D@16', 'D@16', 'D@16', 'D@20', 'D@20', 'E@20'],
      });
    });
  });

  it("keepOpen: the exported recv channel outlives its senders until hangup (without it, it completes when the last sender does)", () => {
    testScheduler.run(({ cold, hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2 });
      const other = net.connect();
      const kept = exportChannel<string>(net.exporter, 'kept', 'recv', { keepOpen: true });
      const plain = exportChannel<string>(net.exporter, 'plain', 'recv');
      cold('--x|').subscribe(importChannel<string>(net.importer, 'kept', 'send'));
      cold('--x|').subscribe(importChannel<string>(net.importer, 'plain', 'send'));
      cold('----------y').subscribe(importChannel<string>(other, 'kept', 'send'));
      hot('--------------------h').subscribe(() => net.exporter.hangup('kept'));
      // x lands at 4, the END after it at 5; y (sent at 10) at 12; hangup at 20
      expectObservable(kept).toBe('----x-------y-------|');
      expectObservable(plain).toBe('----x|');
    });
  });

  it('sync does not hang on a receiver that drops; drain waits for the value it had to reach another receiver', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const net = virtualNetwork({ latency: 2 });
      const flaky = net.connect({ dropAt: 12 });
      const jobs = exportChannel<string>(net.exporter, 'jobs', 'send');
      importChannel<string>(flaky, 'jobs', 'recv', { ack: 'manual' }).subscribe({ error: () => {} }); // holds a, never acknowledges
      hot('----a').subscribe((v) => jobs.next(v));
      // a reaches the flaky importer at 6. Sync and drain from 8: the drop at 12
      // ends sync (the receiver is gone) and puts a back in the queue; another
      // importer binds at 14 (OPEN lands at 16), a lands at 18, its ack at 20.
      expectObservable(net.exporter.sync(), '--------^').toBe('------------|');
      expectObservable(net.exporter.drain(), '--------^').toBe('--------------------|');
      expectObservable(defer(() => importChannel<string>(net.importer, 'jobs', 'recv')), '--------------^').toBe('------------------a');
    });
  });
});
