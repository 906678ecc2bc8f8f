// rx-netchan over nats:// through the public API only: exportChannel/importChannel,
// drain/sync, completion, errors, count, manual acknowledgement, hangup, reconnect.
// One real nats-server (JetStream, file store) for the whole file.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { firstValueFrom, take, toArray } from 'rxjs';
import 'rx-netchan/nats';
import type { NatsConfig } from 'rx-netchan/nats';
import { Exporter, Importer, channelPair, drain, exportChannel, importChannel, type ImporterState } from 'rx-netchan';
import { startNatsServer, stopAllNatsServers, type NatsServer } from '../helpers/natsServer.js';
import { closeAllClients, natsClient, type NatsClient } from '../helpers/natsClients.js';
import { uniqueChannel } from '../helpers/natsChannel.js';
import { completion, failure, range, record, within } from '../helpers/async.js';
import { activeHandles, handleBaseline } from '../helpers/leaks.js';
import { channelNames } from '../../src/nats/channelNames.js';
import { isDrained, whenChannel } from '../../src/nats/whenChannel.js';

let server: NatsServer;
let admin: NatsClient;
beforeAll(async () => {
  server = await startNatsServer();
  admin = await natsClient(server.url, 'admin');
});
afterAll(async () => {
  await closeAllClients();
  await stopAllNatsServers();
});

const endpoints: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

/** An exporter listening on the test server (closed after the test). */
async function exporter(transport: NatsConfig = {}, listen = true): Promise<Exporter> {
  const e = new Exporter({ transport: transport as Record<string, unknown> });
  endpoints.push(e);
  if (listen) await e.listen(server.url);
  return e;
}

function importer(transport: NatsConfig = {}, reconnect = false): Importer {
  const i = Importer.connect(server.url, { transport: transport as Record<string, unknown>, reconnect });
  endpoints.push(i);
  return i;
}

/** Resolves once the test's admin client has reconnected (a request made while it reconnects may be lost). */
async function adminBack(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await admin.nc.flush();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Resolves once the channel's consumer holds `n` values not yet delivered (stored, nobody pulling). */
function stored(name: string, n: number): Promise<unknown> {
  return within(
    firstValueFrom(whenChannel(admin.nc, admin.jsm, channelNames('netchan', name), (p) => p.consumer.num_pending >= n)),
    5_000,
    `${n} values stored`,
  );
}

/** Resolves once everything in the channel's stream is delivered and acknowledged. */
function drained(name: string): Promise<unknown> {
  return within(firstValueFrom(whenChannel(admin.nc, admin.jsm, channelNames('netchan', name), isDrained)), 5_000, `"${name}" drained`);
}

describe('rx-netchan/nats: an exported send channel', () => {
  it('hands each value to one import, completes them after the values, and drains once they are received', async () => {
    const name = uniqueChannel('basic');
    const ex = await exporter({}, false);
    const jobs = exportChannel<{ i: number; at: Date }>(ex, name, 'send');
    await ex.listen(server.url); // resolves once its channels' streams are set up
    const at = new Date(1_700_000_000_000);
    for (const i of range(6)) jobs.next({ i, at });
    jobs.complete();
    // Stored, nobody has received them: they are still pending, and drain waits.
    await stored(name, 6);
    expect(jobs.pending).toBe(6);
    const drainDone = record(ex.drain());
    const a = record(importChannel<{ i: number; at: Date }>(importer(), name, 'recv', { size: 2 }));
    const b = record(importChannel<{ i: number; at: Date }>(importer(), name, 'recv', { size: 2 }));
    await Promise.all([a.until(() => a.completed, 8_000, 'import a completes'), b.until(() => b.completed, 8_000, 'import b completes')]);
    const all = [...a.values, ...b.values];
    expect(all.map((v) => v.i).sort()).toEqual(range(6));
    expect(all.every((v) => v.at instanceof Date && v.at.getTime() === at.getTime())).toBe(true);
    await drainDone.until(() => drainDone.completed, 5_000, 'exporter drained');
    expect(jobs.pending).toBe(0);
  });

  it('sync waits for what was sent before it, drain also for what is still queued', async () => {
    const name = uniqueChannel('sync');
    const ex = await exporter();
    const ch = exportChannel<number>(ex, name, 'send');
    const imp = importer();
    const got = record(importChannel<number>(imp, name, 'recv', { ack: 'manual', size: 4 }));
    for (const i of range(3)) ch.next(i);
    await got.until(() => got.values.length === 3, 5_000, '3 deliveries');
    const synced = record(ex.sync());
    const drainedToo = record(ex.drain());
    ch.next(3); // after the sync point: sync does not wait for it, drain does
    await got.until(() => got.values.length === 4, 5_000, 'the 4th delivery');
    for (const d of got.values.slice(0, 3)) d.ack();
    await synced.until(() => synced.completed, 5_000, 'sync');
    expect(drainedToo.completed).toBe(false);
    expect(ch.pending).toBe(1);
    got.values[3]!.ack();
    await drainedToo.until(() => drainedToo.completed, 5_000, 'drain');
    expect(ch.pending).toBe(0);
    got.subscription.unsubscribe();
  });

  it('size unset: an import holds the default window (1,024) unacknowledged, not one value at a time', async () => {
    const name = uniqueChannel('window');
    const ex = await exporter();
    const ch = exportChannel<number>(ex, name, 'send', { queueLimit: 2048 });
    const imp = importer();
    const got = record(importChannel<number>(imp, name, 'recv', { ack: 'manual' }));
    for (const i of range(1100)) ch.next(i);
    await got.until(() => got.values.length >= 1024, 10_000, 'a window of deliveries without an ack');
    for (const d of got.values) d.ack();
    await got.until(() => got.values.length === 1100, 10_000, 'the rest, once acknowledged');
    for (const d of got.values.slice(1024)) d.ack();
    expect(got.values.map((d) => d.value)).toEqual(range(1100));
    got.subscription.unsubscribe();
  });

  it('completes imports only when every producer has completed (two exporter processes, one channel)', async () => {
    const name = uniqueChannel('two-producers');
    const exA = await exporter();
    const exB = await exporter();
    const a = exportChannel<string>(exA, name, 'send');
    const b = exportChannel<string>(exB, name, 'send');
    const imp = record(importChannel<string>(importer(), name, 'recv'));
    a.next('a1');
    b.next('b1');
    a.complete();
    // A's values are received and A is done; the channel is not: B is still open and sends more.
    await within(firstValueFrom(a.pipe(drain(a)), { defaultValue: undefined }), 5_000, 'A drained');
    await imp.until(() => imp.values.length === 2, 5_000, 'a1, b1');
    b.next('b2');
    await imp.until(() => imp.values.includes('b2'), 5_000, 'b2');
    expect(imp.completed).toBe(false);
    b.complete();
    await imp.until(() => imp.completed, 5_000, 'completion after B');
    expect([...imp.values].sort()).toEqual(['a1', 'b1', 'b2']);
  });

  it('completes imports when the other producer goes away without completing (its process ended)', async () => {
    const name = uniqueChannel('gone-producer');
    const exA = await exporter();
    const exB = await exporter();
    exportChannel<string>(exA, name, 'send').next('a1');
    const b = exportChannel<string>(exB, name, 'send');
    b.next('b1');
    b.complete();
    const imp = record(importChannel<string>(importer(), name, 'recv'));
    await imp.until(() => imp.values.length === 2, 5_000, 'a1, b1');
    expect(imp.completed).toBe(false);
    await exA.close(); // A never completed: it is gone, B has completed
    await imp.until(() => imp.completed, 15_000, 'completion once A is gone');
  });

  it("an error errors every import with the channel's code and message", async () => {
    const name = uniqueChannel('error');
    const ex = await exporter();
    const ch = exportChannel<number>(ex, name, 'send');
    const f1 = failure(importChannel(importer(), name, 'recv'), 5_000);
    const f2 = failure(importChannel(importer(), name, 'recv'), 5_000);
    ch.next(1);
    ch.error(Object.assign(new Error('the job source broke'), { code: 'EINVAL' }));
    for (const e of [await f1, await f2]) expect(e).toMatchObject({ name: 'NetchanError', code: 'EINVAL', message: expect.stringContaining('the job source broke') });
    // A later import errors at once too (the run is over, with an error).
    expect(await failure(importChannel(importer(), name, 'recv'), 5_000)).toMatchObject({ code: 'EINVAL' });
  });

  it('count: an import takes exactly that many, the rest stay for the next receiver', async () => {
    const name = uniqueChannel('count');
    const ex = await exporter();
    const ch = exportChannel<number>(ex, name, 'send');
    for (const i of range(5)) ch.next(i);
    const imp = importer();
    const first = await within(firstValueFrom(importChannel<number>(imp, name, 'recv', { count: 3 }).pipe(toArray())), 5_000, 'count 3');
    expect(first).toHaveLength(3);
    const rest = await within(firstValueFrom(importChannel<number>(imp, name, 'recv').pipe(take(2), toArray())), 5_000, 'the other 2');
    expect([...first, ...rest].sort()).toEqual(range(5));
  });

  it('manual acknowledgement holds a value past ack_wait without a redelivery (working() keeps it), and drain waits for the ack', async () => {
    const name = uniqueChannel('manual');
    const ex = await exporter({ ackWait: 300 });
    const ch = exportChannel<number>(ex, name, 'send');
    const slow = importer();
    const other = importer();
    const held = record(importChannel<number>(slow, name, 'recv', { ack: 'manual', size: 1 }));
    ch.next(1);
    await held.until(() => held.values.length === 1, 5_000, 'the slow import has value 1');
    // A second receiver arrives: if the server redelivered value 1 (its ack_wait is 300 ms), it would get it.
    const others = record(importChannel<number>(other, name, 'recv'));
    ch.next(2);
    await others.until(() => others.values.includes(2), 5_000, 'value 2 at the other import');
    const drained$ = record(ex.drain());
    await new Promise((r) => setTimeout(r, 1_200)); // four times ack_wait
    expect(drained$.completed).toBe(false);
    held.values[0]!.ack();
    await drained$.until(() => drained$.completed, 5_000, 'drain after the ack');
    expect(others.values).toEqual([2]);
    expect(held.values.map((d) => d.value)).toEqual([1]);
    held.subscription.unsubscribe();
  });

  it('hangup: bound imports complete after the values, new ones get ENOCHAN, the stream keeps the values', async () => {
    const name = uniqueChannel('hangup');
    const ex = await exporter();
    const ch = exportChannel<number>(ex, name, 'send');
    const imp = importer();
    const bound = record(importChannel<number>(imp, name, 'recv', { count: 2 }));
    for (const i of range(4)) ch.next(i);
    await bound.until(() => bound.completed, 5_000, 'count-limited import');
    ex.hangup(name);
    expect(await failure(importChannel(importer(), name, 'recv'), 2_000)).toMatchObject({ code: 'ENOCHAN' });
    // Its last two values are still in the stream: another exporter of the name serves them.
    const ex2 = await exporter();
    exportChannel<number>(ex2, name, 'send').complete();
    const rest = await within(firstValueFrom(importChannel<number>(importer(), name, 'recv').pipe(toArray())), 5_000, 'the rest');
    expect([...bound.values, ...rest].sort()).toEqual(range(4));
  });
});

describe('rx-netchan/nats: an exported recv channel', () => {
  it('several exporter processes share what importers send; it completes when the importers complete; importer drain waits for receipt', async () => {
    const name = uniqueChannel('results');
    const ex1 = await exporter({ window: 4 });
    const ex2 = await exporter({ window: 4 });
    const r1 = record(exportChannel<number>(ex1, name, 'recv'));
    const r2 = record(exportChannel<number>(ex2, name, 'recv'));
    const imp1 = importer();
    const imp2 = importer();
    const s1 = importChannel<number>(imp1, name, 'send');
    const s2 = importChannel<number>(imp2, name, 'send');
    for (const i of range(50)) (i % 2 ? s1 : s2).next(i);
    s1.complete();
    await within(firstValueFrom(imp1.drain(), { defaultValue: undefined }), 5_000, 'importer 1 drained');
    expect(r1.completed || r2.completed).toBe(false); // importer 2 is still open
    s2.complete();
    await Promise.all([r1.until(() => r1.completed, 8_000, 'exporter 1 completes'), r2.until(() => r2.completed, 8_000, 'exporter 2 completes')]);
    expect([...r1.values, ...r2.values].sort((x, y) => x - y)).toEqual(range(50));
    expect(r1.values.length).toBeGreaterThan(0);
    expect(r2.values.length).toBeGreaterThan(0);
  });

  it('keepOpen: importers come and go, the channel stays open until hangup', async () => {
    const name = uniqueChannel('keep-open');
    const ex = await exporter();
    const r = record(exportChannel<number>(ex, name, 'recv', { keepOpen: true }));
    const s = importChannel<number>(importer(), name, 'send');
    s.next(1);
    s.complete();
    const s2 = importChannel<number>(importer(), name, 'send');
    await r.until(() => r.values.length === 1, 5_000, 'value 1');
    s2.next(2);
    await r.until(() => r.values.length === 2, 5_000, 'value 2 after the first importer completed');
    expect(r.completed).toBe(false);
    ex.hangup(name);
    await r.until(() => r.completed, 2_000, 'completion on hangup');
  });
});

describe('rx-netchan/nats: refusals', () => {
  it('ENOCHAN and EDIR come back typed and at once (no timeout)', async () => {
    const ex = await exporter();
    const out = uniqueChannel('out');
    const inn = uniqueChannel('in');
    exportChannel(ex, out, 'send');
    exportChannel(ex, inn, 'recv');
    const imp = importer();
    const t0 = Date.now();
    expect(await failure(importChannel(imp, uniqueChannel('nobody'), 'recv'), 2_000)).toMatchObject({ code: 'ENOCHAN', message: expect.stringContaining('nobody') });
    expect(await failure(importChannel(imp, inn, 'recv'), 2_000)).toMatchObject({ code: 'EDIR', message: expect.stringContaining(inn) });
    const errors = record(imp.errors$);
    const wrong = importChannel<number>(imp, out, 'send');
    expect(await failure(wrong, 2_000)).toMatchObject({ code: 'EDIR', message: expect.stringContaining(`it is exported for 'send'`) });
    await errors.until(() => errors.values.some((e) => e.code === 'EDIR'), 2_000, 'EDIR on errors$');
    expect(Date.now() - t0).toBeLessThan(1_500); // a lookup timeout would be 5 s
  });

  it('the same name exported the other way by another process: EDIR on errors$, and next() throws it', async () => {
    const name = uniqueChannel('both-ways');
    const ex1 = await exporter();
    exportChannel(ex1, name, 'recv');
    const ex2 = new Exporter();
    endpoints.push(ex2);
    const errors = record(ex2.errors$);
    const ch = exportChannel<number>(ex2, name, 'send');
    await ex2.listen(server.url);
    expect(errors.values).toEqual([expect.objectContaining({ code: 'EDIR' })]);
    expect(() => ch.next(1)).toThrow(expect.objectContaining({ code: 'EDIR' }));
  });

  it('a channel end inside a value: EINVAL naming the limitation, nothing sent', async () => {
    const name = uniqueChannel('ends');
    const ex = await exporter();
    const ch = exportChannel<unknown>(ex, name, 'send');
    const [, reply] = channelPair<number>();
    expect(() => ch.next({ job: 1, reply })).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(/channel end.*nats:\/\//) }));
    expect(ch.pending).toBe(0);
    const s = importChannel<unknown>(importer(), uniqueChannel('none'), 'send');
    s.subscribe({ error: () => undefined });
    expect(() => s.next({ reply: channelPair<number>()[1] })).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  it('a value over NATS max_payload: an import refuses it in next(); an exported channel fails with ETOOBIG', async () => {
    const name = uniqueChannel('too-big');
    const ex = await exporter({}, false);
    const ch = exportChannel<Uint8Array>(ex, name, 'send');
    const back = uniqueChannel('too-big-back');
    exportChannel(ex, back, 'recv');
    await ex.listen(server.url);
    const imp = importer();
    const recv = failure(importChannel(imp, name, 'recv'), 5_000);
    const big = new Uint8Array(2 * 1024 * 1024); // NATS's default max_payload is 1 MiB; rx-netchan's frame limit 16 MiB
    const s = importChannel<Uint8Array>(imp, back, 'send');
    expect(() => s.next(big)).toThrow(expect.objectContaining({ code: 'ETOOBIG' }));
    ch.next(big);
    expect(await recv).toMatchObject({ code: 'ETOOBIG', message: expect.stringContaining('max_payload') });
    expect(() => ch.next(new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'ETOOBIG' }));
  });

  it('listen() on a port where no server runs fails with ECLOSED', async () => {
    const ex = new Exporter();
    endpoints.push(ex);
    await expect(ex.listen('nats://127.0.0.1:1')).rejects.toMatchObject({ code: 'ECLOSED' });
  });
});

describe('rx-netchan/nats: reconnect', () => {
  it('with reconnect, imports stay bound through a server restart (state$, reconnects$, errors$) and get every value once', async () => {
    const name = uniqueChannel('restart');
    const ex = await exporter();
    const ch = exportChannel<number>(ex, name, 'send');
    const imp = importer({}, true);
    const states: ImporterState[] = [];
    imp.state$.subscribe((s) => states.push(s));
    const reconnects = record(imp.reconnects$);
    const got = record(importChannel<number>(imp, name, 'recv', { size: 8 }));
    for (const i of range(20)) ch.next(i);
    await got.until(() => got.values.length === 20, 5_000, 'first 20');
    await server.restart();
    await adminBack(); // the test's own client is back too
    await reconnects.until(() => reconnects.values.length >= 1, 10_000, 'a reconnection');
    for (const i of range(20, 20)) ch.next(i);
    ch.complete();
    const dbg = setInterval(async () => console.log('DBG', got.values.length, ch.pending, JSON.stringify(await admin.jsm.consumers.info(channelNames('netchan', name).stream, 'netchan').then((i) => [i.num_pending, i.num_ack_pending, i.ack_floor, i.delivered]))), 1000);
    await got.until(() => got.completed, 10_000, 'completion').finally(() => clearInterval(dbg));
    expect(got.values).toEqual(range(40));
    expect(states.slice(0, 2)).toEqual(['connecting', 'open']);
    expect(states).toContain('reconnecting');
    expect(states.at(-1)).toBe('open');
    expect(reconnects.values[0]).toMatchObject({ type: 'resumed', exporterRestarted: false });
  });

  it('without reconnect, a drop closes the importer with ECLOSED', async () => {
    const name = uniqueChannel('drop');
    const ex = await exporter();
    exportChannel<number>(ex, name, 'send');
    const imp = importer();
    const got = failure(importChannel<number>(imp, name, 'recv'), 10_000);
    await within(firstValueFrom(imp.state$.pipe(take(2), toArray())), 5_000, 'open');
    await server.restart();
    await adminBack(); // the test's own client is back too
    const gotErr = await got;
    expect(gotErr).toMatchObject({ code: 'ECLOSED' });
    expect(imp.state).toBe('closed');
  });
});

describe('rx-netchan/nats: teardown', () => {
  it('an importer with reconnect still dialling a server that is not there: close() ends it at once, leaving nothing behind', async () => {
    const base = handleBaseline();
    const imp = Importer.connect('nats://127.0.0.1:1', { reconnect: { initialDelay: 50, maxDelay: 100 } });
    const errors = record(imp.errors$);
    const got = record(importChannel(imp, 'anything', 'recv'));
    await errors.until(() => errors.values.length >= 2, 5_000, 'two failed dials on errors$');
    expect(imp.state).toBe('connecting');
    await within(imp.close(), 1_000, 'close()');
    await got.until(() => got.ended, 1_000, 'the import ends');
    expect(got.error).toBeUndefined(); // closed cleanly
    expect(await activeHandles(base)).toEqual([]);
  });

  it('close() releases every socket and timer of both sides', async () => {
    const base = handleBaseline();
    const name = uniqueChannel('teardown');
    const ex = new Exporter();
    const ch = exportChannel<number>(ex, name, 'send');
    await ex.listen(server.url);
    const imp = Importer.connect(server.url);
    const got = record(importChannel<number>(imp, name, 'recv'));
    const back = exportChannel<number>(ex, `${name}.back`, 'recv');
    const backs = record(back);
    ch.next(1);
    await got.until(() => got.values.length === 1, 5_000, 'a value');
    const s = importChannel<number>(imp, `${name}.back`, 'send');
    s.next(2);
    await backs.until(() => backs.values.length === 1, 5_000, 'a value back');
    await completion(ex.sync(), 5_000);
    await imp.close();
    await ex.close();
    expect(got.completed).toBe(true);
    expect(await activeHandles(base)).toEqual([]);
    await drained(name);
  });
});
