// Reconnect and resume over real sockets: the connection is cut under load (a
// destroyed TCP socket, a terminated WebSocket: no goodbye), the importer
// redials and resumes, and every value arrives exactly once and in order.
import { afterEach, describe, expect, it } from 'vitest';
import { Exporter, Importer, exportChannel, feed, importChannel, type NetchanError, type ReconnectEvent } from '../../src/index.js';
import '../../src/node.js';
import { record } from '../helpers/async.js';
import { handleBaseline } from '../helpers/leaks.js';
import { openPair, settledHandles, type TransportPair } from '../helpers/transports.js';

const reconnect = { initialDelay: 5, maxDelay: 50, jitter: 0.5 };

describe.each(['tcp', 'ws'] as const)('reconnect over %s', (transport) => {
  let pair: TransportPair | undefined;
  afterEach(async () => {
    await pair?.close();
    pair = undefined;
  });

  it('exporter to importer: 5 cuts in a stream of 3,000 values, each value once and in order', async () => {
    pair = await openPair(transport, { importer: { reconnect } });
    const jobs = exportChannel<number>(pair.exporter, 'jobs', 'send');
    const got = record(importChannel<number>(pair.importer, 'jobs', 'recv', { size: 64 }));
    const events = record(pair.importer.reconnects$);
    const errors = record(pair.importer.errors$);
    const total = 3_000;
    feed(jobs, range(total), { complete: true }).subscribe();
    for (let cut = 1; cut <= 5; cut++) {
      await got.until(() => got.values.length >= (cut * total) / 6, 10_000, `value ${(cut * total) / 6}`);
      pair.cut();
      await events.count(cut, 10_000);
    }
    await got.end(10_000);
    expect(got.completed).toBe(true);
    expect(got.values).toEqual(range(total));
    expect(events.values.map((e: ReconnectEvent) => e.type)).toEqual(['resumed', 'resumed', 'resumed', 'resumed', 'resumed']);
    expect(errors.values.length).toBe(5);
    expect(errors.values.every((e: NetchanError) => e.code === 'ECLOSED')).toBe(true);
  });

  it('importer to exporter: 5 cuts, each value once and in order, and drain completes across them', async () => {
    pair = await openPair(transport, { importer: { reconnect } });
    const results = exportChannel<number>(pair.exporter, 'results', 'recv');
    const got = record(results);
    const send = importChannel<number>(pair.importer, 'results', 'send', { size: 64 });
    const events = record(pair.importer.reconnects$);
    const total = 3_000;
    const drained = record(feed(send, range(total)));
    for (let cut = 1; cut <= 5; cut++) {
      await got.until(() => got.values.length >= (cut * total) / 6, 10_000, `value ${(cut * total) / 6}`);
      pair.cut();
      await events.count(cut, 10_000);
    }
    await drained.end(10_000);
    const done = record(pair.importer.drain(10_000));
    await done.end(12_000);
    expect(done.completed).toBe(true);
    expect(got.values).toEqual(range(total));
  });

  it('the exporter restarts on the same port: a new session, live imports bound afresh, reported as such', async () => {
    const base = handleBaseline();
    let exporter = new Exporter();
    let jobs = exportChannel<number>(exporter, 'jobs', 'send');
    const scheme = transport === 'tcp' ? 'tcp://127.0.0.1:0' : 'ws://127.0.0.1:0/n';
    const { url } = await exporter.listen(scheme);
    const importer = Importer.connect(url, { reconnect });
    const got = record(importChannel<number>(importer, 'jobs', 'recv'));
    const events = record(importer.reconnects$);
    const states = record(importer.state$);
    jobs.next(1);
    await got.count(1);
    await exporter.close(); // a goodbye: the importer redials (a restart is a reason to redial)
    expect(got.ended).toBe(false);
    exporter = new Exporter();
    jobs = exportChannel<number>(exporter, 'jobs', 'send');
    await exporter.listen(url);
    jobs.next(2);
    await got.count(2, 10_000);
    expect(got.values).toEqual([1, 2]);
    expect(events.values).toMatchObject([{ type: 'new-session', exporterRestarted: true }]);
    expect(states.values).toEqual(['connecting', 'open', 'reconnecting', 'open']);
    await importer.close();
    await exporter.close();
    expect(states.values.at(-1)).toBe('closed');
    expect(await settledHandles(base)).toEqual([]);
  });

  it('redials with backoff while nobody listens, and gives up after maxAttempts with the last error', async () => {
    const base = handleBaseline();
    const exporter = new Exporter();
    const { url } = await exporter.listen(transport === 'tcp' ? 'tcp://127.0.0.1:0' : 'ws://127.0.0.1:0/n');
    await exporter.close(); // the port is free now: every dial is refused
    const importer = Importer.connect(url, { reconnect: { initialDelay: 1, factor: 2, jitter: 0, maxAttempts: 4 } });
    const errors = record(importer.errors$);
    const states = record(importer.state$);
    await states.end(10_000);
    expect(states.values).toEqual(['connecting', 'reconnecting', 'closed']);
    expect(errors.values.length).toBe(5); // the first dial and 4 attempts, each refused
    expect(errors.values.every((e) => e.code === 'ECLOSED')).toBe(true);
    expect(importer.closed).toBe(true);
    expect(await settledHandles(base)).toEqual([]);
  });

  it('close() while reconnecting stops the attempts and leaks nothing', async () => {
    const base = handleBaseline();
    const p = await openPair(transport, { importer: { reconnect: { initialDelay: 60_000 } }, checkLeaks: false });
    const got = record(importChannel<number>(p.importer, 'jobs', 'recv'));
    const states = record(p.importer.state$);
    p.cut();
    await states.until(() => states.values.includes('reconnecting'));
    await p.importer.close();
    expect(states.values.at(-1)).toBe('closed');
    expect(got.ended).toBe(true);
    await p.close();
    expect(await settledHandles(base)).toEqual([]);
  });
});

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
