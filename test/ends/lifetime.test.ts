// Lifetime of channel ends: released when either side is done, settled when
// the connection ends for good, kept across a resumed reconnection, and a
// long-lived connection serving many request/replies does not grow.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { lastValueFrom, delay, of, toArray } from 'rxjs';
import { exportChannel, importChannel, request, respond, type Request, type SendChannel } from '../../src/index.js';
import { failure, record } from '../helpers/async.js';
import { openPair, type TransportPair } from '../helpers/transports.js';

type Square = Request<{ n: number }, number>;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const endsOf = (endpoint: object): number => (endpoint as { ends: { size: number } }).ends.size;
const importerBindings = (importer: object): number =>
  (importer as { connection: { binder: { bindings: Map<number, unknown> } } }).connection.binder.bindings.size;

describe('channel end lifetime', () => {
  let p: TransportPair | undefined;
  afterEach(async () => {
    await p?.close();
    p = undefined;
  });

  it('100,000 request/replies over one TCP connection leave the binding tables, the end tables and the heap where they started', async () => {
    p = await openPair('tcp');
    exportChannel<Square>(p.exporter, 'squares', 'recv', { keepOpen: true })
      .pipe(respond(({ n }) => n * n))
      .subscribe();
    const jobs = importChannel<Square>(p.importer, 'squares', 'send', { size: 256 });
    const round = async (from: number, count: number): Promise<void> => {
      const batch = 500;
      for (let i = from; i < from + count; i += batch) {
        const answers = await Promise.all(Array.from({ length: batch }, (_, k) => lastValueFrom(request(jobs, { n: i + k }))));
        if (answers[batch - 1] !== (i + batch - 1) ** 2) throw new Error(`wrong answer at ${i}`);
      }
    };
    const settled = async (): Promise<void> => {
      for (let i = 0; i < 100 && p!.exporter.clients[0]!.bindings !== 1; i++) await new Promise((r) => setTimeout(r, 10));
    };
    await round(0, 10_000); // warm up: JIT, buffers, pools
    await settled();
    const before = { heap: heap(), exporter: p.exporter.clients[0]!.bindings, importer: importerBindings(p.importer) };
    expect(before.exporter).toBe(1); // the 'squares' import: every reply binding is gone
    await round(10_000, 90_000);
    await settled(); // the last releases cross the wire
    expect(p.exporter.clients[0]!.bindings).toBe(before.exporter);
    expect(importerBindings(p.importer)).toBe(before.importer);
    expect(endsOf(p.importer)).toBe(0);
    expect(endsOf(p.exporter)).toBe(0);
    const grown = heap() - before.heap;
    expect(grown).toBeLessThan(8 * 1024 * 1024); // 90,000 requests: under 90 bytes each, i.e. nothing kept per request
  }, 120_000);

  it('a request whose connection blips still gets its reply, exactly once (resume)', async () => {
    p = await openPair('tcp', { importer: { reconnect: { initialDelay: 5, jitter: 0 } } });
    exportChannel<Request<{ n: number }, number>>(p.exporter, 'slow', 'recv', { keepOpen: true })
      .pipe(respond(({ n }) => of(n, n + 1, n + 2).pipe(delay(60))))
      .subscribe();
    const jobs = importChannel<Request<{ n: number }, number>>(p.importer, 'slow', 'send');
    const events = record(p.importer.reconnects$);
    const replies = lastValueFrom(request(jobs, { n: 10 }).pipe(toArray()));
    await new Promise((r) => setTimeout(r, 20));
    p.cut(); // while the server is working on it
    await events.count(1);
    expect(await replies).toEqual([10, 11, 12]);
    expect(events.values[0]!.type).toBe('resumed');
  });

  it('when the connection ends for good, every travelled end settles: the requester errors ECLOSED, the server’s next() throws ECLOSED', async () => {
    p = await openPair('tcp');
    let replyTo: SendChannel<number> | undefined;
    exportChannel<Square>(p.exporter, 'squares', 'recv', { keepOpen: true }).subscribe((req) => (replyTo = req.replyTo));
    const jobs = importChannel<Square>(p.importer, 'squares', 'send');
    const outcome = failure(request(jobs, { n: 3 }));
    for (let i = 0; i < 200 && !replyTo; i++) await new Promise((r) => setTimeout(r, 5));
    const serverEnd = record(replyTo!);
    p.cut();
    expect(await outcome).toMatchObject({ code: 'ECLOSED' });
    await serverEnd.end();
    expect(serverEnd.error).toMatchObject({ code: 'ECLOSED' });
    expect(() => replyTo!.next(9)).toThrow(expect.objectContaining({ code: 'ECLOSED' }));
    expect(endsOf(p.importer)).toBe(0);
  });

  it('an end received over one connection and sent on over another keeps working (forwarded, as libchan’s Copy)', async () => {
    p = await openPair('tcp');
    const worker = p.connect().importer; // a second process behind the exporter
    // The exporter is a router: it passes each request (and its reply end) on to the worker.
    const inbox = exportChannel<Square>(p.exporter, 'inbox', 'recv', { keepOpen: true });
    const work = exportChannel<Square>(p.exporter, 'work', 'send');
    inbox.subscribe((req) => work.next(req));
    importChannel<Square>(worker, 'work', 'recv').pipe(respond(({ n }) => of(n * n, -n))).subscribe();
    const client = importChannel<Square>(p.importer, 'inbox', 'send');
    expect(await lastValueFrom(request(client, { n: 12 }).pipe(toArray()))).toEqual([144, -12]);
    const several = await Promise.all([1, 2, 3].map((n) => lastValueFrom(request(client, { n }).pipe(toArray()))));
    expect(several).toEqual([[1, -1], [4, -2], [9, -3]]);
  });
});
