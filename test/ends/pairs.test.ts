// Channel ends inside values (libchan's reply channels), over every transport.
import { afterEach, describe, expect, it } from 'vitest';
import { lastValueFrom, of, toArray, take, map, delay as rxDelay } from 'rxjs';
import { channelPair, exportChannel, importChannel, request, respond, type Request, type SendChannel, type Delivery } from '../../src/index.js';
import { failure, record } from '../helpers/async.js';
import { openPair, TRANSPORTS, type TransportPair } from '../helpers/transports.js';

type Square = Request<{ n: number }, number>;

describe.each(TRANSPORTS)('channel ends inside values over %s', (transport) => {
  let p: TransportPair;
  afterEach(async () => {
    await p.close();
  });

  it('request/reply: the reply comes back on the end that travelled with the request', async () => {
    p = await openPair(transport);
    exportChannel<Square>(p.exporter, 'squares', 'recv', { keepOpen: true })
      .pipe(respond(({ n }) => n * n))
      .subscribe();
    const jobs = importChannel<Square>(p.importer, 'squares', 'send');
    expect(await lastValueFrom(request(jobs, { n: 7 }))).toBe(49);
    const many = await Promise.all([1, 2, 3, 4, 5].map((n) => lastValueFrom(request(jobs, { n }))));
    expect(many).toEqual([1, 4, 9, 16, 25]);
  });

  it('a streamed answer: several replies, then completion', async () => {
    p = await openPair(transport);
    exportChannel<Request<{ upTo: number }, number>>(p.exporter, 'count', 'recv', { keepOpen: true })
      .pipe(respond(({ upTo }) => of(...Array.from({ length: upTo }, (_, i) => i + 1))))
      .subscribe();
    const jobs = importChannel<Request<{ upTo: number }, number>>(p.importer, 'count', 'send');
    expect(await lastValueFrom(request(jobs, { upTo: 300 }).pipe(toArray()))).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it("the server's error reaches the requester", async () => {
    p = await openPair(transport);
    exportChannel<Square>(p.exporter, 'squares', 'recv', { keepOpen: true })
      .pipe(
        respond(({ n }) => {
          if (n < 0) throw Object.assign(new Error('negative'), { code: 'EINVAL' });
          return n * n;
        }),
      )
      .subscribe();
    const jobs = importChannel<Square>(p.importer, 'squares', 'send');
    const err = (await failure(request(jobs, { n: -1 }))) as { code: string; message: string };
    expect(err.code).toBe('EINVAL');
    expect(err.message).toMatch(/negative/);
  });

  it('several ends in one value, nested in objects and arrays, both kinds, and the exporter sending them too', async () => {
    p = await openPair(transport);
    type Cmd = { io: { stdin: import('rxjs').Observable<string>; out: [SendChannel<string>, SendChannel<string>] } };
    // The server reads stdin and writes each line upper-cased to out[0] and reversed to out[1].
    exportChannel<Cmd>(p.exporter, 'cmds', 'recv', { keepOpen: true }).subscribe(({ io }) => {
      io.stdin.subscribe({
        next: (line) => {
          io.out[0].next(line.toUpperCase());
          io.out[1].next([...line].reverse().join(''));
        },
        complete: () => {
          io.out[0].complete();
          io.out[1].complete();
        },
      });
    });
    const cmds = importChannel<Cmd>(p.importer, 'cmds', 'send');
    const [stdin, stdinEnd] = channelPair<string>();
    const [upper, upperEnd] = channelPair<string>();
    const [reversed, reversedEnd] = channelPair<string>();
    cmds.next({ io: { stdin, out: [upperEnd, reversedEnd] } });
    const a = record(upper);
    const b = record(reversed);
    for (const line of ['abc', 'hello']) stdinEnd.next(line);
    stdinEnd.complete();
    await a.end();
    await b.end();
    expect(a.values).toEqual(['ABC', 'HELLO']);
    expect(b.values).toEqual(['cba', 'olleh']);
    expect(a.completed && b.completed).toBe(true);
  });

  it('an end can travel once; sending it again throws EPROTO', async () => {
    p = await openPair(transport);
    exportChannel<unknown>(p.exporter, 'sink', 'recv', { keepOpen: true }).subscribe();
    const sink = importChannel<unknown>(p.importer, 'sink', 'send');
    const [, end] = channelPair<number>();
    sink.next({ end });
    expect(() => sink.next({ again: end })).toThrow(expect.objectContaining({ code: 'EPROTO', message: expect.stringMatching(/can travel once/) }));
  });

  it('the requester unsubscribes: the reply end is released and the server sees ECLOSED on next()', async () => {
    p = await openPair(transport);
    const seen: string[] = [];
    let replyTo: SendChannel<number> | undefined;
    exportChannel<Square>(p.exporter, 'squares', 'recv', { keepOpen: true }).subscribe((req) => (replyTo = req.replyTo));
    const jobs = importChannel<Square>(p.importer, 'squares', 'send');
    const got = record(request(jobs, { n: 3 }));
    for (let i = 0; i < 200 && !replyTo; i++) await new Promise((r) => setTimeout(r, 5));
    replyTo!.next(1);
    await got.count(1);
    replyTo!.subscribe({ complete: () => seen.push('complete'), error: (e) => seen.push(`error ${(e as { code: string }).code}`) });
    got.unsubscribe();
    for (let i = 0; i < 200 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(['complete']);
    expect(() => replyTo!.next(2)).toThrow(expect.objectContaining({ code: 'ECLOSED' }));
  });

  it('the window holds: a slow manual-ack receiving end holds the remote sender', async () => {
    p = await openPair(transport);
    let sent = 0;
    let sink: SendChannel<number> | undefined;
    exportChannel<{ sink: SendChannel<number> }>(p.exporter, 'feed', 'recv', { keepOpen: true }).subscribe((v) => (sink = v.sink));
    const feedCh = importChannel<{ sink: SendChannel<number> }>(p.importer, 'feed', 'send');
    const [deliveries, end] = channelPair<number>({ size: 3, ack: 'manual' });
    feedCh.next({ sink: end });
    for (let i = 0; i < 200 && !sink; i++) await new Promise((r) => setTimeout(r, 5));
    const held: Array<Delivery<number>> = [];
    deliveries.subscribe((d) => held.push(d));
    for (let i = 0; i < 10; i++) {
      sink!.next(i);
      sent++;
    }
    for (let i = 0; i < 100 && held.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 30));
    expect(held.map((d) => d.value)).toEqual([0, 1, 2]); // the window of 3: nothing more until an ack
    expect(sink!.pending).toBe(10);
    held.shift()!.ack();
    for (let i = 0; i < 100 && held.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    expect(held.map((d) => d.value)).toEqual([1, 2, 3]);
    expect(sent).toBe(10);
  });

  void map;
  void rxDelay;
  void take;
});
