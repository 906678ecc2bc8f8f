// Bounded queues and their overflow strategies, drain/sync timeouts, EEXIST,
// and handles released after close().
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { of, throwError } from 'rxjs';
import { Exporter, Importer, drain, exportChannel, importChannel, sync, DEFAULT_QUEUE_LIMIT, type NetchanError } from '../../src/index.js';
import '../../src/node.js';
import { completion, range, record } from '../helpers/async.js';
import { handleBaseline } from '../helpers/leaks.js';
import { openPair, settledHandles, TRANSPORTS, type TransportPair } from '../helpers/transports.js';

function thrown(fn: () => void): NetchanError | undefined {
  try {
    fn();
  } catch (e) {
    return e as NetchanError;
  }
  return undefined;
}

describe.each(TRANSPORTS)('queues over %s', (transport) => {
  let p: TransportPair;
  beforeEach(async () => {
    p = await openPair(transport);
  });
  afterEach(async () => {
    await p.close();
  });

  it(`the default queue bound is at least 1,024 values, then next() throws 'EOVERFLOW' and the value is not taken`, () => {
    expect(DEFAULT_QUEUE_LIMIT).toBeGreaterThanOrEqual(1024);
    const ch = exportChannel<number>(p.exporter, 'q', 'send');
    for (let i = 0; i < DEFAULT_QUEUE_LIMIT; i++) ch.next(i);
    expect(ch.capacity).toBe(0);
    const err = thrown(() => ch.next(-1));
    expect(err?.code).toBe('EOVERFLOW');
    expect(err?.message).toContain('"q"');
    expect(ch.pending).toBe(DEFAULT_QUEUE_LIMIT);
  });

  it("overflow 'error': once the queue has room again, next() takes values; nothing taken is lost", async () => {
    const ch = exportChannel<number>(p.exporter, 'q', 'send', { queueLimit: 5, overflow: 'error' });
    for (const v of range(5)) ch.next(v);
    expect(thrown(() => ch.next(5))?.code).toBe('EOVERFLOW');
    const got = record(importChannel<number>(p.importer, 'q', 'recv', { size: 2 }));
    await got.count(5);
    ch.next(5);
    await got.count(6);
    expect(got.values).toEqual(range(6));
  });

  it("overflow 'drop-oldest' discards the oldest queued value and counts it", async () => {
    const ch = exportChannel<number>(p.exporter, 'q', 'send', { queueLimit: 5, overflow: 'drop-oldest' });
    for (const v of range(8)) ch.next(v);
    expect(ch.dropped).toBe(3);
    ch.complete();
    const got = record(importChannel<number>(p.importer, 'q', 'recv'));
    await got.end();
    expect(got.values).toEqual([3, 4, 5, 6, 7]);
  });

  it("overflow 'drop-newest' discards the value being sent and counts it", async () => {
    const ch = exportChannel<number>(p.exporter, 'q', 'send', { queueLimit: 5, overflow: 'drop-newest' });
    for (const v of range(8)) ch.next(v);
    expect(ch.dropped).toBe(3);
    ch.complete();
    const got = record(importChannel<number>(p.importer, 'q', 'recv'));
    await got.end();
    expect(got.values).toEqual([0, 1, 2, 3, 4]);
  });

  it("an imported send channel's queue is bounded too", async () => {
    exportChannel<number>(p.exporter, 'in', 'recv'); // nobody reads: the window fills and stays full
    const ch = importChannel<number>(p.importer, 'in', 'send', { size: 2, queueLimit: 3 });
    // The first `size` values go out at once, the next 3 queue, the one after overflows.
    for (const v of range(5)) ch.next(v);
    expect(thrown(() => ch.next(5))?.code).toBe('EOVERFLOW');
  });

  it("drain with a timeout errors 'ETIMEDOUT' when values stay unacknowledged (methods and operator)", async () => {
    const ch = exportChannel<number>(p.exporter, 'q', 'send');
    ch.next(1); // queued for no receiver
    const viaMethod = record(p.exporter.drain(40));
    const viaOperator = record(of('a', 'b').pipe(drain(ch, { timeout: 40 })));
    await viaMethod.end();
    await viaOperator.end();
    expect((viaMethod.error as NetchanError).code).toBe('ETIMEDOUT');
    expect((viaMethod.error as NetchanError).name).toBe('NetchanError');
    expect(viaOperator.values).toEqual(['a', 'b']); // values pass through unchanged
    expect((viaOperator.error as NetchanError).code).toBe('ETIMEDOUT');
    expect((viaOperator.error as NetchanError).message).toContain('1');
  });

  it("sync with a timeout errors 'ETIMEDOUT' when a receiver does not acknowledge (importer side too)", async () => {
    const ch = exportChannel<number>(p.exporter, 'q', 'send');
    const got = record(importChannel<number>(p.importer, 'q', 'recv', { ack: 'manual' }));
    ch.next(1);
    await got.count(1);
    const s = record(p.exporter.sync(40));
    const s2 = record(of(1).pipe(sync(ch, { timeout: 40 })));
    await s.end();
    await s2.end();
    expect((s.error as NetchanError).code).toBe('ETIMEDOUT');
    expect((s2.error as NetchanError).code).toBe('ETIMEDOUT');

    exportChannel<number>(p.exporter, 'in', 'recv', { ack: 'manual' }); // held, never acknowledged
    const out = importChannel<number>(p.importer, 'in', 'send');
    out.next(1);
    const i1 = record(p.importer.sync(40));
    const i2 = record(p.importer.drain(40));
    await i1.end();
    await i2.end();
    expect((i1.error as NetchanError).code).toBe('ETIMEDOUT');
    expect((i2.error as NetchanError).code).toBe('ETIMEDOUT');
  });

  it('drain and sync with nothing pending complete in the same tick; source errors pass through at once', () => {
    let done = 0;
    p.exporter.drain(1000).subscribe({ complete: () => done++ });
    p.exporter.sync(1000).subscribe({ complete: () => done++ });
    p.importer.drain().subscribe({ complete: () => done++ });
    expect(done).toBe(3);
    const ch = exportChannel<number>(p.exporter, 'q', 'send');
    ch.next(1);
    let err: unknown;
    throwError(() => new Error('src'))
      .pipe(drain(ch, { timeout: 1000 }))
      .subscribe({ error: (e) => (err = e) });
    expect((err as Error).message).toBe('src');
  });

  it("exporting a name twice throws 'EEXIST' synchronously, whatever the direction; hangup frees it", () => {
    exportChannel<number>(p.exporter, 'name', 'send');
    const e1 = thrown(() => exportChannel<number>(p.exporter, 'name', 'send'));
    const e2 = thrown(() => exportChannel<number>(p.exporter, 'name', 'recv'));
    expect(e1?.code).toBe('EEXIST');
    expect(e1?.name).toBe('NetchanError');
    expect(e1?.message).toContain('"name"');
    expect(e2?.code).toBe('EEXIST');
    p.exporter.hangup('name');
    expect(() => exportChannel<number>(p.exporter, 'name', 'recv')).not.toThrow();
    expect(thrown(() => p.exporter.hangup('nope'))?.code).toBe('ENOCHAN');
  });

  it('close() is idempotent and errors later imports with ECLOSED', async () => {
    exportChannel<number>(p.exporter, 'q', 'send');
    await p.importer.close();
    await p.importer.close();
    const r = record(importChannel<number>(p.importer, 'q', 'recv'));
    await r.end();
    expect((r.error as NetchanError).code).toBe('ECLOSED');
  });
});

describe('handles after close()', () => {
  it('a TCP exporter with several importers and timers leaves no socket, server or timer behind', async () => {
    const base = handleBaseline();
    const exporter = new Exporter({ keepalive: 1_000 }); // armed keepalive timers, with room for a busy CI event loop
    const jobs = exportChannel<number>(exporter, 'jobs', 'send');
    const inbox = record(exportChannel<number>(exporter, 'inbox', 'recv'));
    const { url } = await exporter.listen('tcp://127.0.0.1:0');
    const importers = range(3).map(() => Importer.connect(url, { keepalive: 1_000 }));
    const recs = importers.map((i) => record(importChannel<number>(i, 'jobs', 'recv', { size: 2 })));
    for (const i of importers) importChannel<number>(i, 'inbox', 'send').next(1);
    for (const v of range(30)) jobs.next(v);
    await inbox.count(3);
    await completion(exporter.drain(5_000));
    // A drain timeout that is still armed when everything closes.
    jobs.next(99);
    const pendingDrain = record(exporter.drain(60_000));
    await Promise.all(importers.map((i) => i.close()));
    await exporter.close();
    await pendingDrain.end();
    expect(recs.flatMap((r) => r.values).length).toBeGreaterThanOrEqual(30);
    expect(await settledHandles(base)).toEqual([]);
  });

  it('an exporter closed while importers are still connected ends them and releases everything', async () => {
    const base = handleBaseline();
    const exporter = new Exporter();
    const jobs = exportChannel<number>(exporter, 'jobs', 'send');
    const { url } = await exporter.listen('tcp://127.0.0.1:0');
    const importer = Importer.connect(url);
    const r = record(importChannel<number>(importer, 'jobs', 'recv'));
    jobs.next(1);
    await r.count(1); // connected and bound
    await exporter.close();
    await r.end();
    await importer.close();
    expect(await settledHandles(base)).toEqual([]);
  });
});
