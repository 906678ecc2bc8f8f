// Work-queue semantics, nothing lost, count, manual acknowledgement and
// per-channel windows, on every transport of the matrix.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { concatMap, finalize, map, timer } from 'rxjs';
import { exportChannel, importChannel, type Delivery, type NetchanError } from '../../src/index.js';
import { completion, range, record } from '../helpers/async.js';
import { downstreamBarrier } from '../helpers/barrier.js';
import { openPair, TRANSPORTS, type TransportPair } from '../helpers/transports.js';

describe.each(TRANSPORTS)('work queue over %s', (transport) => {
  let p: TransportPair;
  beforeEach(async () => {
    p = await openPair(transport);
  });
  afterEach(async () => {
    await p.close();
  });

  it('several importers sharing one channel: every one of thousands of values arrives exactly once', async () => {
    const N = 5_000;
    const jobs = exportChannel<number>(p.exporter, 'jobs', 'send', { queueLimit: N });
    // Three more connections, and two subscriptions on the first one: five receivers.
    const links = [p, p.connect(), p.connect(), p.connect()];
    const recs = [
      ...links.map((l, i) => record(importChannel<number>(l.importer, 'jobs', 'recv', { size: 4 + i * 8 }))),
      record(importChannel<number>(p.importer, 'jobs', 'recv', { size: 1 })),
    ];
    for (let i = 0; i < N; i++) jobs.next(i);
    jobs.complete();
    for (const r of recs) await r.end(10_000);
    const all = recs.flatMap((r) => r.values);
    expect(all.length).toBe(N);
    expect(new Set(all).size).toBe(N);
    expect([...all].sort((a, b) => a - b)).toEqual(range(N));
    for (const r of recs) {
      expect(r.completed).toBe(true);
      expect(r.values.length).toBeGreaterThan(0); // each receiver got a share
      // Each receiver sees its share in the order it was sent.
      expect(r.values).toEqual([...r.values].sort((a, b) => a - b));
    }
    await completion(p.exporter.drain(5_000));
  });

  it('a dropped connection loses nothing: what it had not acknowledged goes to another importer, in order', async () => {
    const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
    const exporterErrors = record(p.exporter.errors$);
    const a = p.connect();
    const aErrors = record(a.importer.errors$);
    // A takes a window of 10 and never acknowledges (manual ack, stalled).
    const aGot = record(importChannel<number>(a.importer, 'jobs', 'recv', { size: 10, ack: 'manual' }));
    for (const v of range(30)) jobs.next(v);
    await aGot.count(10);
    expect(aGot.values.map((d) => d.value)).toEqual(range(10));
    a.cut();
    await aGot.end();
    expect((aGot.error as NetchanError).code).toBe('ECLOSED');
    await aErrors.count(1);
    expect(aErrors.values[0]!.code).toBe('ECLOSED');
    await exporterErrors.count(1);
    expect(exporterErrors.values[0]!.code).toBe('ECLOSED');

    const bGot = record(importChannel<number>(p.importer, 'jobs', 'recv', { size: 7 }));
    await bGot.count(30);
    expect(bGot.values).toEqual(range(30));
    await completion(p.exporter.drain(5_000));
  });

  it('unsubscribing without acknowledging gives the values back; what was acknowledged is not repeated', async () => {
    const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
    const aGot = record(importChannel<number>(p.importer, 'jobs', 'recv', { size: 5, ack: 'manual' }));
    for (const v of range(12)) jobs.next(v);
    await aGot.count(5);
    aGot.values[0]!.ack();
    aGot.values[1]!.ack();
    aGot.unsubscribe();
    // Exactly the ten not acknowledged, once each (a repeated 0 or 1 would come first and fail the comparison).
    const bGot = record(importChannel<number>(p.importer, 'jobs', 'recv', { size: 3, count: 10 }));
    await bGot.end();
    expect(bGot.values).toEqual(range(10, 2));
    await completion(p.exporter.drain(5_000));
    expect(jobs.pending).toBe(0);
  });

  it('count (ImportNValues): an import takes exactly count values; the rest go to the next receiver', async () => {
    const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
    for (const v of range(10)) jobs.next(v);
    // A window larger than count: the exporter must still hand over only count.
    const first = record(importChannel<number>(p.importer, 'jobs', 'recv', { size: 10, count: 3 }));
    await first.end();
    expect(first.completed).toBe(true);
    expect(first.values).toEqual([0, 1, 2]);
    // count larger than the window.
    const second = record(importChannel<number>(p.importer, 'jobs', 'recv', { size: 2, count: 5 }));
    await second.end();
    expect(second.values).toEqual([3, 4, 5, 6, 7]);
    const rest = record(importChannel<number>(p.importer, 'jobs', 'recv'));
    await rest.count(2);
    await completion(p.exporter.drain(5_000)); // both acknowledged, and nothing else was pending
    expect(rest.values).toEqual([8, 9]);
    expect(jobs.pending).toBe(0);
  });

  it('count on a send import: it completes by itself after count values, without an END', async () => {
    const inbox = record(exportChannel<number>(p.exporter, 'inbox', 'recv'));
    const s = importChannel<number>(p.importer, 'inbox', 'send', { count: 3 });
    const sDone = record(s);
    for (const v of range(5)) s.next(v);
    expect(sDone.completed).toBe(true);
    await inbox.end();
    expect(inbox.values).toEqual([0, 1, 2]);
  });

  it('count 0 completes at once without binding', async () => {
    exportChannel<number>(p.exporter, 'jobs', 'send');
    const r = record(importChannel<number>(p.importer, 'jobs', 'recv', { count: 0 }));
    expect(r.completed).toBe(true);
  });

  it('manual ack: a slow concatMap stage holds the window instead of buffering behind it', async () => {
    const size = 3;
    const N = 24;
    const jobs = exportChannel<number>(p.exporter, 'jobs', 'send', { queueLimit: N });
    let delivered = 0;
    let processed = 0;
    let maxOutstanding = 0;
    let maxInFlight = 0;
    const out = record(
      importChannel<number>(p.importer, 'jobs', 'recv', { size, ack: 'manual' }).pipe(
        concatMap((d: Delivery<number>) => {
          delivered++;
          maxOutstanding = Math.max(maxOutstanding, delivered - processed);
          const queued = N - jobs.capacity;
          maxInFlight = Math.max(maxInFlight, jobs.pending - queued);
          return timer(2).pipe(
            map(() => d.value),
            finalize(() => {
              processed++;
              d.ack();
            }),
          );
        }),
      ),
    );
    for (const v of range(N)) jobs.next(v);
    await out.count(N, 10_000);
    expect(out.values).toEqual(range(N));
    // Never more than the window between arrival and the end of processing, or on the wire.
    expect(maxOutstanding).toBeLessThanOrEqual(size);
    expect(maxInFlight).toBeLessThanOrEqual(size);
    await completion(p.exporter.drain(5_000));
  });

  it('manual acks out of order are held until the prefix is complete', async () => {
    const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
    const got = record(importChannel<number>(p.importer, 'jobs', 'recv', { size: 3, ack: 'manual' }));
    for (const v of range(6)) jobs.next(v);
    await got.count(3);
    got.values[2]!.ack();
    got.values[1]!.ack();
    got.values[2]!.ack(); // idempotent
    // Whatever the exporter did with those acks has arrived: nothing, as seq 1 is not acknowledged and the window is still full.
    await downstreamBarrier(p.exporter, p.importer);
    expect(got.values.length).toBe(3);
    expect(jobs.pending).toBe(6);
    got.values[0]!.ack();
    await got.count(6);
    expect(got.values.map((d) => d.value)).toEqual(range(6));
  });

  it('windows are per channel: a stalled channel does not block another on the same connection', async () => {
    const stalled = exportChannel<number>(p.exporter, 'stalled', 'send');
    const free = exportChannel<number>(p.exporter, 'free', 'send');
    const stuck = record(importChannel<number>(p.importer, 'stalled', 'recv', { size: 2, ack: 'manual' }));
    const flowing = record(importChannel<number>(p.importer, 'free', 'recv', { size: 2 }));
    for (const v of range(10)) stalled.next(v);
    for (const v of range(200)) free.next(v);
    await flowing.count(200);
    expect(flowing.values).toEqual(range(200));
    expect(stuck.values.length).toBe(2);
    expect(stalled.pending).toBe(10);

    // And importer -> exporter: one exported recv channel nobody reads, another read.
    exportChannel<number>(p.exporter, 'unread', 'recv');
    const read = record(exportChannel<number>(p.exporter, 'read', 'recv'));
    const toUnread = importChannel<number>(p.importer, 'unread', 'send', { size: 2 });
    const toRead = importChannel<number>(p.importer, 'read', 'send', { size: 2 });
    for (const v of range(10)) toUnread.next(v);
    for (const v of range(200)) toRead.next(v);
    await read.count(200);
    expect(read.values).toEqual(range(200));
    expect(toUnread.pending).toBe(10);
  });

  it('a producer can pace itself by capacity$ without overflowing the queue', async () => {
    const jobs = exportChannel<number>(p.exporter, 'jobs', 'send', { queueLimit: 4 });
    const got = record(importChannel<number>(p.importer, 'jobs', 'recv', { size: 2 }));
    const N = 100;
    let next = 0;
    const sub = jobs.capacity$.subscribe((room) => {
      for (; room > 0 && next < N; room--) jobs.next(next++);
    });
    await got.count(N);
    sub.unsubscribe();
    expect(got.values).toEqual(range(N));
    expect(jobs.dropped).toBe(0);
  });
});
