import { describe, expect, it } from 'vitest';
import { firstValueFrom, filter, lastValueFrom, timer, map } from 'rxjs';
import { Importer, ackWhenDone, exportChannel, importChannel, type ClientInfo, type Delivery, type NetchanError } from '../../src/index.js';
import '../../src/node.js';
import { completion, record, range, within } from '../helpers/async.js';
import { openPair } from '../helpers/transports.js';

/** The exporter's client list, each time it changes, as `state` strings. */
function states(list: readonly ClientInfo[]): string[] {
  return list.map((c) => c.state);
}

describe.each(['tcp', 'ws'] as const)('operating a server over %s', (transport) => {
  it('clients$: a client appears at the handshake, gets the identity authenticate resolved, and goes', async () => {
    let admit!: () => void;
    let asked!: () => void;
    const hookCalled = new Promise<void>((r) => (asked = r));
    const p = await openPair(transport, {
      exporter: {
        authenticate: (auth) =>
          new Promise((r) => {
            admit = () => r({ user: (auth as { user: string }).user });
            asked();
          }),
      },
      importer: { auth: { user: 'ada' } },
    });
    try {
      const seen = record(p.exporter.clients$);
      await within(hookCalled, 5_000, 'authenticate');
      const c = seen.values.at(-1)![0]!;
      expect(c.state).toBe('handshake');
      expect(c.identity).toBeUndefined();
      admit();
      await seen.until(() => states(seen.values.at(-1)!).join() === 'open', 5_000, 'open');
      const open = seen.values.at(-1)![0]!;
      expect(open).toBe(c); // the same live object from the handshake on
      expect(open.identity).toEqual({ user: 'ada' });
      expect(open.remote).toMatch(new RegExp(`^${transport}://127\\.0\\.0\\.1:\\d+`));
      expect(p.exporter.clients).toEqual([open]);
      await p.importer.close();
      await seen.until(() => seen.values.at(-1)!.length === 0, 5_000, 'the client gone');
      expect(open.state).toBe('gone');
    } finally {
      await p.close();
    }
  });

  it('authenticate resolving false refuses with EAUTH; a thrown hook too', async () => {
    for (const authenticate of [async () => false, () => Promise.reject(new Error('db down')), () => { throw new Error('bug'); }]) {
      const p = await openPair(transport, { exporter: { authenticate } });
      try {
        const errors = record(p.importer.errors$);
        await errors.until(() => errors.values.some((e) => e.code === 'EAUTH'), 5_000, 'EAUTH');
        await within(firstValueFrom(p.importer.state$.pipe(filter((s) => s === 'closed'))), 5_000, 'closed');
        await within(firstValueFrom(p.exporter.clients$.pipe(filter((l) => l.length === 0))), 5_000, 'no client');
      } finally {
        await p.close();
      }
    }
  });

  it('disconnect(grace) with values in flight loses nothing: what was acknowledged in the grace stays, the rest goes to another importer', async () => {
    const p = await openPair(transport);
    try {
      const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
      // A holds its deliveries (manual acknowledgement): 10 in flight, the window.
      const a = record(importChannel<number>(p.importer, 'jobs', 'recv', { size: 10, ack: 'manual' }));
      for (const n of range(100)) jobs.next(n);
      await a.count(10);
      const aErrors = record(p.importer.errors$);
      const client = p.exporter.clients[0]!;
      const gone = p.exporter.disconnect(60_000); // the grace ends early: once nothing is in flight
      expect(client.state).toBe('disconnecting');
      // In the grace, A acknowledges half of what it has, and nothing more arrives.
      for (const d of a.values.slice(0, 5)) (d as unknown as Delivery<number>).ack();
      // A second importer only now: it takes the queue, and the 5 A did not acknowledge once A is gone.
      const b = p.connect().importer;
      const got = record(importChannel<number>(b, 'jobs', 'recv', { size: 10 }));
      await got.count(90);
      // The other 5 wait for the grace, then come back: disconnect the rest now, with a short grace.
      client.disconnect(50);
      await within(gone, 5_000, 'disconnect');
      await got.count(95);
      const acked = a.values.slice(0, 5).map((d) => (d as unknown as Delivery<number>).value);
      expect(a.values).toHaveLength(10); // nothing new after disconnect()
      expect([...acked, ...got.values].sort((x, y) => x - y)).toEqual(range(100));
      // A closed for good with ECLOSED: its import errored, its importer does not come back.
      await a.end();
      expect((a.error as NetchanError).code).toBe('ECLOSED');
      expect(aErrors.values.map((e) => e.code)).toContain('ECLOSED');
      expect(p.importer.closed).toBe(true);
      expect(client.state).toBe('gone');
      await completion(p.exporter.drain(5_000)); // every value acknowledged, once
    } finally {
      await p.close();
    }
  });

  it('disconnect: nothing in flight closes at once; new bindings in the grace are refused; a reconnecting importer does not resume', async () => {
    const p = await openPair(transport, { importer: { reconnect: { initialDelay: 10 } } });
    try {
      exportChannel<number>(p.exporter, 'jobs', 'send');
      const held = record(importChannel<number>(p.importer, 'jobs', 'recv'));
      await within(firstValueFrom(p.importer.state$.pipe(filter((s) => s === 'open'))), 5_000, 'open');
      await held.until(() => p.exporter.clients[0]?.bindings === 1, 5_000, 'bound');
      const states$ = record(p.importer.state$);
      await within(p.exporter.disconnect(60_000), 5_000, 'disconnect with nothing in flight');
      await states$.end();
      expect(states$.values).toEqual(['open', 'closed']); // no 'reconnecting'
      await held.end();
      expect((held.error as NetchanError).code).toBe('ECLOSED');
      expect(p.exporter.clients).toEqual([]);
    } finally {
      await p.close();
    }
  });

  it('a detached client (dropped, waiting to resume) is ended at once; when it redials it is sent away, not resumed', async () => {
    const p = await openPair(transport, { importer: { reconnect: { initialDelay: 200, jitter: 0 } } });
    try {
      const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
      const a = record(importChannel<number>(p.importer, 'jobs', 'recv', { ack: 'manual' }));
      jobs.next(1);
      await a.count(1);
      const client = p.exporter.clients[0]!;
      const seen = record(p.exporter.clients$);
      p.cut();
      await seen.until(() => client.state === 'detached', 5_000, 'detached');
      client.disconnect();
      expect(client.state).toBe('gone');
      expect(jobs.pending).toBe(1); // requeued: nobody to acknowledge it now
      await a.end();
      expect((a.error as NetchanError).code).toBe('ECLOSED');
      expect((a.error as Error).message).toMatch(/disconnected by the exporter/);
      expect(p.importer.closed).toBe(true);
      const b = record(importChannel<number>(p.connect().importer, 'jobs', 'recv'));
      await b.count(1); // the value went to the next importer
    } finally {
      await p.close();
    }
  });

  it('a disconnecting client may not open bindings: refused with ECLOSED naming the channel', async () => {
    const p = await openPair(transport);
    try {
      const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
      exportChannel<number>(p.exporter, 'other', 'send');
      const a = record(importChannel<number>(p.importer, 'jobs', 'recv', { ack: 'manual' }));
      jobs.next(1);
      await a.count(1);
      p.exporter.clients[0]!.disconnect(60_000); // held open by the unacknowledged value
      const late = record(importChannel<number>(p.importer, 'other', 'recv'));
      await late.end();
      expect((late.error as NetchanError).code).toBe('ECLOSED');
      expect((late.error as Error).message).toMatch(/"other".*disconnected/);
      (a.values[0] as unknown as Delivery<number>).ack();
      await a.end();
    } finally {
      await p.close();
    }
  });

  it('client.cancel(channel) ends that binding alone: the import errors after its values, the rest of the queue goes elsewhere', async () => {
    const p = await openPair(transport);
    try {
      const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
      const news = exportChannel<string>(p.exporter, 'news', 'send');
      const inbox = exportChannel<number>(p.exporter, 'inbox', 'recv', { keepOpen: true });
      const inboxSeen = record(inbox);
      const a = record(importChannel<number>(p.importer, 'jobs', 'recv', { size: 4, ack: 'manual' }));
      const n = record(importChannel<string>(p.importer, 'news', 'recv'));
      const up = importChannel<number>(p.importer, 'inbox', 'send');
      const upEnd = record(up);
      for (const v of range(10)) jobs.next(v);
      await a.count(4);
      const client = p.exporter.clients[0]!;
      expect(client.bindingStats.map((b) => `${b.channel}:${b.dir}`).sort()).toEqual(['inbox:recv', 'jobs:send', 'news:send']);
      expect(client.cancel('jobs')).toBe(1);
      await a.end();
      expect((a.error as NetchanError).code).toBe('ECLOSED');
      expect(a.values).toHaveLength(4); // what was in flight was still delivered, unacknowledged
      // Those 4 and the 6 queued go to the next receiver.
      const b = record(importChannel<number>(p.importer, 'jobs', 'recv'));
      await b.count(10);
      expect(b.values).toEqual(range(10));
      // The connection and its other bindings go on.
      news.next('still here');
      up.next(7);
      await n.count(1);
      await inboxSeen.count(1);
      // Cancel by binding id: the send import into 'inbox' is refused with ECLOSED.
      const id = client.bindingStats.find((s) => s.channel === 'inbox')!.id;
      expect(client.cancel(id)).toBe(1);
      await upEnd.end();
      expect((upEnd.error as NetchanError).code).toBe('ECLOSED');
      expect(client.cancel('nothing')).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('the README recipe, graceful shutdown: stop accepting, complete, drain, disconnect, close: every value processed once', async () => {
    const p = await openPair(transport);
    try {
      const exporter = p.exporter;
      const jobs = exportChannel<number>(exporter, 'jobs', 'send');
      const done: number[] = [];
      const work = (importer: Importer) =>
        record(importChannel<number>(importer, 'jobs', 'recv', { size: 8, ack: 'manual' }).pipe(ackWhenDone((n) => timer(1).pipe(map(() => done.push(n))), 8)));
      const a = work(p.importer);
      const b = work(p.connect().importer);
      for (const n of range(200)) jobs.next(n);
      // Binding counts change without an emission of clients$ (the objects are live): sample them.
      await within(
        new Promise<void>((r) => {
          const t = setInterval(() => exporter.clients.length === 2 && exporter.clients.every((c) => c.bindings === 1) && (clearInterval(t), r()), 5);
        }),
        5_000,
        'both bound',
      );
      // The steps of the recipe, in order.
      await exporter.stopListening();
      jobs.complete();
      await lastValueFrom(exporter.drain(10_000), { defaultValue: undefined });
      await within(exporter.disconnect(5_000), 5_000, 'disconnect');
      await exporter.close();
      expect(done.sort((x, y) => x - y)).toEqual(range(200));
      await a.end();
      await b.end();
      expect([a.completed, b.completed]).toEqual([true, true]); // completed with the channel, before the goodbye
      expect(exporter.clients).toEqual([]);
    } finally {
      await p.close();
    }
  });

  it('stopListening(): new importers are refused, connected ones go on', async () => {
    const p = await openPair(transport);
    try {
      const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
      const a = record(importChannel<number>(p.importer, 'jobs', 'recv'));
      jobs.next(1);
      await a.count(1);
      await p.exporter.stopListening();
      const late = p.connect({ handshakeTimeout: 2_000 }).importer;
      await within(firstValueFrom(late.state$.pipe(filter((s) => s === 'closed'))), 5_000, 'the late importer refused');
      jobs.next(2);
      await a.count(2);
      expect(p.exporter.clients).toHaveLength(1);
    } finally {
      await p.close();
    }
  });
});
