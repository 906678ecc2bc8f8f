// Go's old/netchan test file (netchan_test.go), scenario by scenario, on every
// transport of the matrix. Go's names are in the test titles. Constants follow
// Go: count = 10, closeCount = 5, base = 23, flowCount = 100 into a window of 20.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { filter, switchMap, take } from 'rxjs';
import { exportChannel, importChannel, type Delivery, type NetchanError } from '../src/index.js';
import { completion, failure, range, record } from './helpers/async.js';
import { downstreamBarrier, upstreamBarrier } from './helpers/barrier.js';
import { openPair, TRANSPORTS, type TransportPair } from './helpers/transports.js';

const count = 10;
const closeCount = 5;
const base = 23;
const flowCount = 100;
const flowWindow = 20;

describe.each(TRANSPORTS)('netchan over %s', (transport) => {
  let p: TransportPair;
  beforeEach(async () => {
    p = await openPair(transport);
  });
  afterEach(async () => {
    await p.close();
  });

  /** Go's exportSend: n values base+i on 'exportedSend', then close. */
  function exportSend(n: number) {
    const ch = exportChannel<number>(p.exporter, 'exportedSend', 'send');
    for (const v of range(n, base)) ch.next(v);
    ch.complete();
    return ch;
  }

  /** Go's importReceive: ImportNValues('exportedSend', Recv, size 3, count). */
  function importReceive() {
    return record(importChannel<number>(p.importer, 'exportedSend', 'recv', { size: 3, count }));
  }

  /** Go's importSend: ImportNValues('exportedRecv', Send, size 3, -1), n values, then close. */
  function importSend(n: number) {
    const ch = importChannel<number>(p.importer, 'exportedRecv', 'send', { size: 3, count: -1 });
    for (const v of range(n, base)) ch.next(v);
    ch.complete();
    return ch;
  }

  it('TestExportSendImportReceive: count values arrive in order, then the import completes', async () => {
    exportSend(count);
    const got = importReceive();
    await got.end();
    expect(got.error).toBeUndefined();
    expect(got.values).toEqual(range(count, base));
  });

  it('TestExportReceiveImportSend: values arrive at the exported recv channel, which completes when the sender does', async () => {
    const got = record(exportChannel<number>(p.exporter, 'exportedRecv', 'recv'));
    importSend(count);
    await got.end();
    expect(got.error).toBeUndefined();
    expect(got.values).toEqual(range(count, base));
  });

  it('TestClosingExportSendImportReceive: an exporter closing early completes the import after closeCount values', async () => {
    exportSend(closeCount);
    const got = importReceive();
    await got.end();
    expect(got.completed).toBe(true);
    expect(got.values).toEqual(range(closeCount, base));
  });

  it('TestClosingImportSendExportReceive: an importer closing early completes the exported channel after closeCount values', async () => {
    const got = record(exportChannel<number>(p.exporter, 'exportedRecv', 'recv'));
    importSend(closeCount);
    await got.end();
    expect(got.completed).toBe(true);
    expect(got.values).toEqual(range(closeCount, base));
  });

  it("TestErrorForIllegalChannel: importing a name nobody exported errors with 'ENOCHAN' naming it", async () => {
    const ch = exportChannel<number>(p.exporter, 'aChannel', 'send');
    ch.next(1234);
    ch.complete();
    const recvErr = (await failure(importChannel<number>(p.importer, 'notAChannel', 'recv', { size: 1 }))) as NetchanError;
    expect(recvErr.code).toBe('ENOCHAN');
    expect(recvErr.message).toContain('no such channel');
    expect(recvErr.message).toContain('notAChannel');

    // A 'send' import reports it on its own observers and on importer.errors$ (Go's Errors()).
    const errors = record(p.importer.errors$);
    const send = importChannel<number>(p.importer, 'notASendChannel', 'send');
    const sendErr = (await failure(send)) as NetchanError;
    expect(sendErr.code).toBe('ENOCHAN');
    expect(sendErr.message).toContain('notASendChannel');
    await errors.count(1);
    expect(errors.values.map((e) => e.code)).toEqual(['ENOCHAN']);
    // Only the binding failed: the connection still serves the real channel.
    const good = record(importChannel<number>(p.importer, 'aChannel', 'recv'));
    await good.end();
    expect(good.values).toEqual([1234]);
  });

  it("wrong direction: a mismatched import errors with 'EDIR' naming the channel, both ways", async () => {
    exportChannel<number>(p.exporter, 'out', 'send');
    exportChannel<number>(p.exporter, 'in', 'recv');
    const recvErr = (await failure(importChannel<number>(p.importer, 'in', 'recv'))) as NetchanError;
    expect(recvErr.code).toBe('EDIR');
    expect(recvErr.message).toContain('"in"');

    const errors = record(p.importer.errors$);
    const sendErr = (await failure(importChannel<number>(p.importer, 'out', 'send'))) as NetchanError;
    expect(sendErr.code).toBe('EDIR');
    expect(sendErr.message).toContain('"out"');
    await errors.count(1);
    expect(errors.values[0]!.code).toBe('EDIR');
  });

  it('TestExportDrain: drain waits for values queued for no receiver until a receiver acknowledges them', async () => {
    exportSend(closeCount); // queued: nobody has imported yet
    const drained = record(p.exporter.drain(5_000));
    // Not in the same tick: values are pending. (That it keeps waiting until a receiver
    // comes is timing: marbles/operators/drain.marbles.test.ts, "waits for values queued before any importer binds".)
    expect(drained.ended).toBe(false);
    const got = importReceive();
    await drained.end();
    expect(drained.completed).toBe(true);
    // Drain completes only once every value reached the importer and was acknowledged.
    expect(got.values).toEqual(range(closeCount, base));
    await got.end();
  });

  it('TestImportDrain: importer.drain() completes once the exporter has acknowledged every value sent', async () => {
    const got = record(exportChannel<number>(p.exporter, 'exportedRecv', 'recv'));
    const ch = importSend(closeCount);
    await completion(p.importer.drain(5_000));
    expect(ch.pending).toBe(0);
    expect(got.values).toEqual(range(closeCount, base));
  });

  it('TestExportSync: sync completes once the receivers have caught up', async () => {
    exportSend(closeCount);
    const got = importReceive();
    await got.count(1);
    await completion(p.exporter.sync(5_000));
    await got.end();
    expect(got.values).toEqual(range(closeCount, base));
  });

  it("Sync really waits (Go's returned at once): it completes only when the receiver acknowledges, and not for later values", async () => {
    const ch = exportChannel<number>(p.exporter, 'work', 'send');
    const got = record(importChannel<number>(p.importer, 'work', 'recv', { size: 10, ack: 'manual' }));
    ch.next(1);
    ch.next(2);
    await got.count(2);
    const synced = record(p.exporter.sync(5_000));
    // Values sent after sync subscribed are not waited for.
    ch.next(3);
    ch.next(4);
    await got.count(4);
    // Delivered but not acknowledged: Go's Sync would have returned by now. Every frame
    // the exporter wrote has arrived, and the importer has written no ACK: nothing can complete it.
    await downstreamBarrier(p.exporter, p.importer);
    expect(synced.ended).toBe(false);
    got.values[0]!.ack();
    await upstreamBarrier(p.exporter, p.importer); // the exporter has handled ACK 1
    expect(synced.ended).toBe(false); // 2 is still unacknowledged
    got.values[1]!.ack();
    await synced.end();
    expect(synced.completed).toBe(true);
    expect(ch.pending).toBe(2); // 3 and 4 are still unacknowledged: sync did not wait for them
    const drained = record(p.exporter.drain(5_000));
    expect(drained.ended).toBe(false); // drain does wait for them
    got.values[2]!.ack();
    got.values[3]!.ack();
    await drained.end();
    expect(drained.completed).toBe(true);
  });

  it('importer.sync() waits for the exporter to acknowledge what was sent before it', async () => {
    const inbox = record(exportChannel<number>(p.exporter, 'inbox', 'recv', { ack: 'manual' }));
    const ch = importChannel<number>(p.importer, 'inbox', 'send', { size: 5 });
    ch.next(1);
    ch.next(2);
    await inbox.count(2);
    const synced = record(p.importer.sync(5_000));
    // Both values reached the exporter, which has not acknowledged them (manual):
    // every frame it wrote has arrived, and none could complete the sync.
    await downstreamBarrier(p.exporter, p.importer);
    expect(synced.ended).toBe(false);
    for (const d of inbox.values) d.ack();
    await synced.end();
    expect(synced.completed).toBe(true);
    expect(ch.pending).toBe(0);
  });

  it('sync does not wait for values queued for no receiver; drain does', async () => {
    const ch = exportChannel<number>(p.exporter, 'queued', 'send');
    ch.next(1);
    let synced = false;
    p.exporter.sync().subscribe({ complete: () => (synced = true) });
    expect(synced).toBe(true); // same tick: nothing was sent to any receiver
    const drained = record(p.exporter.drain(50));
    await drained.end();
    expect((drained.error as NetchanError).code).toBe('ETIMEDOUT');
  });

  it('TestExportHangup: exporter.hangup(name) completes the importer after the value it got', async () => {
    const ech = exportChannel<number>(p.exporter, 'exportedSend', 'send');
    // Prepare to receive two values; only one is delivered.
    const got = record(importChannel<number>(p.importer, 'exportedSend', 'recv', { size: 1, count: 2 }));
    ech.next(1234);
    await got.count(1);
    p.exporter.hangup('exportedSend');
    await got.end();
    expect(got.completed).toBe(true);
    expect(got.values).toEqual([1234]);
    expect(() => p.exporter.hangup('exportedSend')).toThrow(expect.objectContaining({ code: 'ENOCHAN' }));
    // hangup frees the name.
    const again = exportChannel<number>(p.exporter, 'exportedSend', 'send');
    again.next(5);
    const got2 = record(importChannel<number>(p.importer, 'exportedSend', 'recv', { count: 1 }));
    await got2.end();
    expect(got2.values).toEqual([5]);
  });

  it('TestImportHangup: importer.hangup(name) completes the exported recv channel after the value it sent', async () => {
    const ech = record(exportChannel<number>(p.exporter, 'exportedRecv', 'recv'));
    const ich = importChannel<number>(p.importer, 'exportedRecv', 'send', { size: 1, count: 2 });
    ich.next(1234);
    await ech.count(1);
    p.importer.hangup('exportedRecv');
    await ech.end();
    expect(ech.completed).toBe(true);
    expect(ech.values).toEqual([1234]);
    expect(() => p.importer.hangup('exportedRecv')).toThrow(expect.objectContaining({ code: 'ENOCHAN' }));
  });

  it('hangup of a recv import completes it locally and unbinds it', async () => {
    const ech = exportChannel<number>(p.exporter, 'feed', 'send');
    const got = record(importChannel<number>(p.importer, 'feed', 'recv', { size: 2 }));
    ech.next(1);
    await got.count(1);
    p.importer.hangup('feed');
    expect(got.completed).toBe(true);
    // The next value goes to the next receiver, not to the hung-up one.
    ech.next(2);
    const next = record(importChannel<number>(p.importer, 'feed', 'recv', { count: 1 }));
    await next.end();
    expect(next.values).toEqual([2]);
  });

  it('TestIndependentSends: a blocked channel does not hold up another on the same connection', async () => {
    const inch = exportChannel<number>(p.exporter, 'exportedRecv', 'recv');
    const outch = exportChannel<number>(p.exporter, 'exportedSend', 'send');
    const ctlch = exportChannel<number>(p.exporter, 'exportedCtl', 'recv');
    // Loop exportedRecv back to exportedSend, but only after a value on exportedCtl.
    ctlch
      .pipe(
        take(1),
        switchMap(() => inch.pipe(take(count))),
      )
      .subscribe((x) => outch.next(x));

    const send = importSend(count);
    const got = importReceive();
    // The export side is not reading yet: once the exporter has handled everything the
    // importer sent, the sender is still held at its window of 3, and nothing came back.
    // (The same, frame by frame: marbles/channel/netchan.marbles.test.ts, TestIndependentSends.)
    await upstreamBarrier(p.exporter, p.importer);
    await downstreamBarrier(p.exporter, p.importer);
    expect(got.values).toEqual([]);
    expect(send.pending).toBe(count);
    expect(send.queued).toBe(count - 3); // 3 in flight, the rest in the queue

    const ctl = importChannel<number>(p.importer, 'exportedCtl', 'send', { size: 1, count: 1 });
    ctl.next(0);
    await got.end();
    expect(got.values).toEqual(range(count, base));
  });

  it('TestCrossConnect: two exporter/importer pairs exchange values both ways at once', async () => {
    const q = await openPair(transport, { checkLeaks: false }); // p's check, after both close, covers q
    try {
      const [e1, i1] = [p.exporter, p.importer];
      const [e2, i2] = [q.exporter, q.importer];
      interface Value {
        I: number;
        Source: string;
      }
      // crossExport
      const es = exportChannel<Value>(e1, 'exportedSend', 'send');
      const er = record(exportChannel<Value>(e2, 'exportedReceive', 'recv'));
      // crossImport
      const is = importChannel<Value>(i2, 'exportedReceive', 'send', { size: 2 });
      const ir = record(importChannel<Value>(i1, 'exportedSend', 'recv', { size: 2 }));
      // crossLoop on both sides.
      for (let i = 0; i < count; i++) {
        es.next({ I: i, Source: 'export' });
        is.next({ I: i, Source: 'import' });
      }
      await ir.count(count);
      await er.count(count);
      expect(ir.values).toEqual(range(count).map((I) => ({ I, Source: 'export' })));
      expect(er.values).toEqual(range(count).map((I) => ({ I, Source: 'import' })));
    } finally {
      await q.close();
    }
  });

  it(`TestExportFlowControl: ${flowCount} values into a window of ${flowWindow} with the importer stalled hold the sender at exactly ${flowWindow} in flight`, async () => {
    const queueLimit = 1000;
    const ch = exportChannel<number>(p.exporter, 'exportedSend', 'send', { queueLimit });
    let flowing = false;
    const got = record(
      importChannel<number>(p.importer, 'exportedSend', 'recv', { size: flowWindow, ack: 'manual' }),
      (d: Delivery<number>) => flowing && d.ack(),
    );
    for (const v of range(flowCount, base)) ch.next(v);
    await got.count(flowWindow);
    // Everything the exporter wrote has arrived (one connection keeps the order): exactly the window.
    await downstreamBarrier(p.exporter, p.importer);
    expect(got.values.length).toBe(flowWindow);
    const queued = queueLimit - ch.capacity;
    expect(queued).toBe(flowCount - flowWindow); // the sender is held: the rest waits in its queue
    expect(ch.pending - queued).toBe(flowWindow); // exactly the window in flight

    flowing = true;
    for (const d of got.values) d.ack();
    await got.count(flowCount);
    expect(got.values.map((d) => d.value)).toEqual(range(flowCount, base));
    expect(got.values.map((d) => d.seq)).toEqual(range(flowCount, 1));
    await completion(p.exporter.drain(5_000));
  });

  it(`TestImportFlowControl: ${flowCount} values into a window of ${flowWindow} with the exporter stalled hold the importer at exactly ${flowWindow} in flight`, async () => {
    const queueLimit = 1000;
    let flowing = false;
    const got = record(exportChannel<number>(p.exporter, 'exportedRecv', 'recv', { ack: 'manual' }), (d) => flowing && d.ack());
    const ch = importChannel<number>(p.importer, 'exportedRecv', 'send', { size: flowWindow, queueLimit });
    for (const v of range(flowCount, base)) ch.next(v);
    await got.count(flowWindow);
    // The exporter has handled everything the importer wrote: exactly the window.
    await upstreamBarrier(p.exporter, p.importer);
    expect(got.values.length).toBe(flowWindow);
    const queued = queueLimit - ch.capacity;
    expect(queued).toBe(flowCount - flowWindow);
    expect(ch.pending - queued).toBe(flowWindow);

    flowing = true;
    for (const d of got.values) d.ack();
    await got.count(flowCount);
    expect(got.values.map((d) => d.value)).toEqual(range(flowCount, base));
    await completion(p.importer.drain(5_000));
  });

  it('flow control with nobody subscribed to the exported recv channel: the window is held until a subscriber comes', async () => {
    const inbox = exportChannel<number>(p.exporter, 'exportedRecv', 'recv');
    const ch = importChannel<number>(p.importer, 'exportedRecv', 'send', { size: flowWindow });
    for (const v of range(flowCount, base)) ch.next(v);
    ch.complete();
    // The window's worth has reached the exporter, which holds it: it acknowledged none of
    // it (an ACK would have come back before the barrier's), and no more was sent.
    await upstreamBarrier(p.exporter, p.importer);
    await downstreamBarrier(p.exporter, p.importer);
    expect(ch.pending).toBe(flowCount);
    expect(ch.queued).toBe(flowCount - flowWindow);
    const got = record(inbox);
    await got.end();
    expect(got.values).toEqual(range(flowCount, base));
    await completion(p.importer.drain(5_000));
  });

  it('completion and errors propagate across the wire', async () => {
    const ch = exportChannel<number>(p.exporter, 'e', 'send');
    const got = record(importChannel<number>(p.importer, 'e', 'recv'));
    ch.next(1);
    await got.count(1);
    ch.error(new Error('boom'));
    await got.end();
    expect(got.values).toEqual([1]);
    expect((got.error as NetchanError).name).toBe('NetchanError');
    expect((got.error as NetchanError).message).toContain('boom');
    expect((got.error as NetchanError).message).toContain('"e"');

    const inbox = record(exportChannel<number>(p.exporter, 'in', 'recv'));
    const s = importChannel<number>(p.importer, 'in', 'send');
    s.next(7);
    await inbox.count(1);
    s.error(Object.assign(new Error('importer side failed'), { code: 'EPROTO' }));
    await inbox.end();
    expect((inbox.error as NetchanError).code).toBe('EPROTO');
    expect((inbox.error as NetchanError).message).toContain('importer side failed');
  });

  it('many channels on one importer, and one channel filtered by value, all flow at once', async () => {
    const chans = range(5).map((i) => exportChannel<number>(p.exporter, `c${i}`, 'send'));
    // Channel c0 is filtered: only multiples of 3 get through; the others are still received and acknowledged.
    const recs = range(5).map((i) => {
      const values = importChannel<number>(p.importer, `c${i}`, 'recv', { size: 4 });
      return record(i === 0 ? values.pipe(filter((v) => v % 3 === 0)) : values);
    });
    for (let v = 0; v < 50; v++) for (const c of chans) c.next(v);
    for (const c of chans) c.complete();
    for (const r of recs) await r.end();
    expect(recs[0]!.values).toEqual(range(17).map((i) => i * 3));
    for (const r of recs.slice(1)) expect(r.values).toEqual(range(50));
    // The filtered-out values were acknowledged too: nothing is left pending.
    await completion(p.exporter.drain(5_000));
    for (const c of chans) expect(c.pending).toBe(0);
  });
});
