// Unbinding, hangup of the receive side, drops during drain/sync, and
// completion with several senders, on every transport of the matrix.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { of, take } from 'rxjs';
import { drain, exportChannel, importChannel, type NetchanError } from '../../src/index.js';
import { completion, failure, range, record } from '../helpers/async.js';
import { upstreamBarrier } from '../helpers/barrier.js';
import { openPair, TRANSPORTS, type TransportPair } from '../helpers/transports.js';

describe.each(TRANSPORTS)('lifecycle over %s', (transport) => {
  let p: TransportPair;
  beforeEach(async () => {
    p = await openPair(transport);
  });
  afterEach(async () => {
    await p.close();
  });

  it('take(n) on a busy import: values in flight when it unbinds go to the next receiver, none lost or repeated', async () => {
    const N = 1_000;
    const jobs = exportChannel<number>(p.exporter, 'jobs', 'send', { queueLimit: N });
    const first = record(importChannel<number>(p.importer, 'jobs', 'recv', { size: 50 }).pipe(take(5)));
    for (const v of range(N)) jobs.next(v);
    await first.end();
    expect(first.values).toEqual(range(5));
    // Exactly the other N - 5, once each: with `count` the import ends there, and a
    // value repeated would have pushed one out of it (and left one in the queue).
    const rest = record(importChannel<number>(p.importer, 'jobs', 'recv', { size: 7, count: N - 5 }));
    await rest.end();
    expect(rest.values).toEqual(range(N - 5, 5));
    await completion(p.exporter.drain(5_000));
    expect(jobs.pending).toBe(0);
  });

  it("exporter.hangup of a 'recv' channel completes it and the importer's send import", async () => {
    const inbox = record(exportChannel<number>(p.exporter, 'inbox', 'recv'));
    const out = importChannel<number>(p.importer, 'inbox', 'send', { size: 2 });
    const outEnd = record(out);
    out.next(1);
    await inbox.count(1);
    p.exporter.hangup('inbox');
    expect(inbox.completed).toBe(true);
    await outEnd.end();
    expect(outEnd.completed).toBe(true);
    out.next(2); // ignored: the import is over
    expect(inbox.values).toEqual([1]);
  });

  it('an exported recv channel completes only when every importer sending into it has completed', async () => {
    const inbox = record(exportChannel<string>(p.exporter, 'inbox', 'recv'));
    const second = p.connect();
    const a = importChannel<string>(p.importer, 'inbox', 'send');
    const b = importChannel<string>(second.importer, 'inbox', 'send');
    a.next('a1');
    b.next('b1');
    await inbox.count(2);
    a.complete();
    await upstreamBarrier(p.exporter, p.importer); // a's END has been handled
    expect(inbox.completed).toBe(false); // b still sends into it
    b.next('b2');
    b.complete();
    await inbox.end();
    expect(inbox.completed).toBe(true);
    expect([...inbox.values].sort()).toEqual(['a1', 'b1', 'b2']);
  });

  it('keepOpen: the exported recv channel outlives its senders until hangup', async () => {
    const inbox = record(exportChannel<string>(p.exporter, 'inbox', 'recv', { keepOpen: true }));
    const a = importChannel<string>(p.importer, 'inbox', 'send');
    a.next('x');
    a.complete();
    await inbox.count(1);
    await completion(p.importer.drain(5_000));
    await upstreamBarrier(p.exporter, p.importer); // a's END has been handled: its only sender is done
    expect(inbox.completed).toBe(false);
    const b = importChannel<string>(p.importer, 'inbox', 'send');
    b.next('y');
    await inbox.count(2);
    p.exporter.hangup('inbox');
    expect(inbox.completed).toBe(true);
  });

  it('sync does not hang on a receiver that drops: a receiver that is gone has nothing more to acknowledge', async () => {
    const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
    const a = p.connect();
    const got = record(importChannel<number>(a.importer, 'jobs', 'recv', { ack: 'manual' }));
    jobs.next(1);
    await got.count(1);
    const synced = record(p.exporter.sync(5_000));
    expect(synced.ended).toBe(false); // 1 is delivered, not acknowledged (the wait itself: marbles/channel/netchan.marbles.test.ts)
    a.cut();
    await synced.end();
    expect(synced.completed).toBe(true);
    // drain, though, waits for the requeued value to reach someone.
    const drained = record(p.exporter.drain(5_000));
    expect(drained.ended).toBe(false);
    expect(jobs.pending).toBe(1); // back in the queue
    const b = record(importChannel<number>(p.importer, 'jobs', 'recv'));
    await drained.end();
    expect(drained.completed).toBe(true);
    expect(b.values).toEqual([1]);
  });

  it("a dropped importer's drain and send imports fail with 'ECLOSED'; later imports fail at once", async () => {
    const held = record(exportChannel<number>(p.exporter, 'inbox', 'recv', { ack: 'manual' })); // holds, never acknowledges
    const a = p.connect();
    const out = importChannel<number>(a.importer, 'inbox', 'send');
    const outEnd = record(out);
    out.next(1);
    const drained = record(a.importer.drain(5_000));
    await held.count(1); // the value reached the exporter, unacknowledged
    a.cut();
    await drained.end();
    expect((drained.error as NetchanError).code).toBe('ECLOSED');
    await outEnd.end();
    expect((outEnd.error as NetchanError).code).toBe('ECLOSED');
    const late = (await failure(importChannel<number>(a.importer, 'inbox', 'recv'))) as NetchanError;
    expect(late.code).toBe('ECLOSED');
    expect(a.importer.closed).toBe(true);
  });

  it("exporter.close() fails a pending drain with 'ECLOSED' and ends every import", async () => {
    const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
    const got = record(importChannel<number>(p.importer, 'jobs', 'recv', { ack: 'manual' }));
    jobs.next(1);
    await got.count(1);
    const drained = record(p.exporter.drain());
    await p.exporter.close();
    await drained.end();
    expect((drained.error as NetchanError).code).toBe('ECLOSED');
    await got.end();
    expect(() => exportChannel<number>(p.exporter, 'new', 'send')).toThrow(expect.objectContaining({ code: 'ECLOSED' }));
  });

  it('error() on an imported send channel errors the exported recv channel, naming the channel', async () => {
    const inbox = record(exportChannel<number>(p.exporter, 'inbox', 'recv'));
    const out = importChannel<number>(p.importer, 'inbox', 'send');
    out.next(1);
    out.error(new Error('bad batch'));
    await inbox.end();
    expect(inbox.values).toEqual([1]);
    const e = inbox.error as NetchanError;
    expect(e.code).toBe('EREMOTE');
    expect(e.message).toContain('bad batch');
    expect(e.message).toContain('"inbox"');
  });

  it('drain also waits for values sent while it waits (Go\'s Drain), operator form on a channel included', async () => {
    const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
    const got = record(importChannel<number>(p.importer, 'jobs', 'recv', { ack: 'manual' }));
    jobs.next(1);
    await got.count(1);
    const viaMethod = record(p.exporter.drain(5_000));
    const viaChannel = record(of(0).pipe(drain(jobs, { timeout: 5_000 })));
    jobs.next(2);
    await got.count(2);
    got.values[0]!.ack();
    await upstreamBarrier(p.exporter, p.importer); // ACK 1 has been handled; 2 is still out
    expect(viaMethod.ended).toBe(false);
    expect(viaChannel.ended).toBe(false);
    got.values[1]!.ack();
    await viaMethod.end();
    await viaChannel.end();
    expect(viaMethod.completed && viaChannel.completed).toBe(true);
  });
});
