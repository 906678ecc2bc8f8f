import { describe, expect, it } from 'vitest';
import { exportChannel, importChannel, type ClientInfo, type NetchanError } from '../../src/index.js';
import { record, range, within } from '../helpers/async.js';
import { openPair } from '../helpers/transports.js';

/** An authorize hook whose answers the test releases: each call waits until `release()`. */
function gate(decide: (client: ClientInfo, name: string, dir: 'send' | 'recv') => boolean) {
  const calls: Array<{ name: string; dir: string }> = [];
  const waiting: Array<() => void> = [];
  let open = false;
  return {
    calls,
    hook: (client: ClientInfo, name: string, dir: 'send' | 'recv'): Promise<boolean> => {
      if (name === '$metrics') return Promise.resolve(true); // the round trip the test uses as a barrier
      calls.push({ name, dir });
      return new Promise<boolean>((resolve) => {
        const answer = () => resolve(decide(client, name, dir));
        if (open) answer();
        else waiting.push(answer);
      });
    },
    release(): void {
      open = true;
      for (const w of waiting.splice(0)) w();
    },
  };
}

describe.each(['tcp', 'ws'] as const)('authorize over %s', (transport) => {
  it('an async authorize refusing one channel leaves the others working; values sent while it decides wait, then arrive', async () => {
    const auth = gate((client, name) => (client.identity as { role: string }).role === 'admin' || name !== 'secret');
    const p = await openPair(transport, {
      exporter: { authenticate: (a) => a as { role: string }, authorize: auth.hook, remoteMetrics: true },
      importer: { auth: { role: 'user' } },
    });
    try {
      const pub = exportChannel<number>(p.exporter, 'public', 'send');
      const secret = exportChannel<number>(p.exporter, 'secret', 'send');
      const inbox = record(exportChannel<number>(p.exporter, 'inbox', 'recv', { keepOpen: true }));
      const errors = record(p.importer.errors$);
      const gotPublic = record(importChannel<number>(p.importer, 'public', 'recv'));
      const gotSecret = record(importChannel<number>(p.importer, 'secret', 'recv'));
      const up = importChannel<number>(p.importer, 'inbox', 'send', { size: 4 });
      for (const v of range(10)) up.next(v); // 4 go out at once (the window) and wait in the binding
      await new Promise<void>((r) => {
        const t = setInterval(() => auth.calls.length === 3 && (clearInterval(t), r()), 5);
      });
      expect(auth.calls.map((c) => `${c.name}:${c.dir}`).sort()).toEqual(['inbox:recv', 'public:send', 'secret:send']);
      // A round trip after the values: whatever the exporter would deliver before authorization, it has by now.
      await within(p.importer.fetchMetrics(), 5_000, 'a round trip');
      expect(inbox.values).toEqual([]);
      pub.next(1);
      secret.next(2);
      auth.release();
      await gotSecret.end();
      const err = gotSecret.error as NetchanError;
      expect(err.code).toBe('EAUTH');
      expect(err.message).toMatch(/channel "secret"/);
      await gotPublic.count(1);
      expect(gotPublic.values).toEqual([1]);
      await inbox.count(10);
      expect(inbox.values).toEqual(range(10));
      expect(gotPublic.ended).toBe(false);
      expect(p.importer.state).toBe('open');
      expect(secret.pending).toBe(1); // the refused binding took nothing
      expect(errors.values.filter((e) => e.code !== 'EAUTH')).toEqual([]);
    } finally {
      await p.close();
    }
  });

  it('a refused send import errors with EAUTH and keeps its values; a synchronous or throwing hook refuses the same way', async () => {
    for (const authorize of [(_c: ClientInfo, name: string) => name !== 'inbox', () => { throw new Error('policy store down'); }, async () => false]) {
      const p = await openPair(transport, { exporter: { authorize } });
      try {
        const inbox = record(exportChannel<number>(p.exporter, 'inbox', 'recv', { keepOpen: true }));
        const up = importChannel<number>(p.importer, 'inbox', 'send', { size: 2 });
        const upEnd = record(up);
        const errors = record(p.importer.errors$);
        up.next(1);
        up.next(2);
        up.next(3);
        await upEnd.end();
        expect((upEnd.error as NetchanError).code).toBe('EAUTH');
        expect((upEnd.error as Error).message).toMatch(/channel "inbox"/);
        expect(up.pending).toBe(3);
        await errors.until(() => errors.values.some((e) => e.code === 'EAUTH'));
        expect(inbox.values).toEqual([]);
        expect(() => up.next(4)).toThrow(/inbox/);
      } finally {
        await p.close();
      }
    }
  });

  it('unsubscribing while authorize decides leaves nothing bound', async () => {
    const auth = gate(() => true);
    const p = await openPair(transport, { exporter: { authorize: auth.hook, remoteMetrics: true } });
    try {
      const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
      const sub = importChannel<number>(p.importer, 'jobs', 'recv').subscribe();
      await new Promise<void>((r) => {
        const t = setInterval(() => auth.calls.length === 1 && (clearInterval(t), r()), 5);
      });
      sub.unsubscribe();
      await within(p.importer.fetchMetrics(), 5_000, 'a round trip'); // the CANCEL has arrived
      auth.release();
      await within(p.importer.fetchMetrics(), 5_000, 'another round trip');
      expect(p.exporter.clients[0]!.bindings).toBe(0);
      jobs.next(1);
      expect(jobs.pending).toBe(1); // queued: no receiver took it
    } finally {
      await p.close();
    }
  });
});
