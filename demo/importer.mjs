// The importer process: takes work through a deliberately slow asynchronous
// stage (1 ms per item, 64 at a time), acknowledging each item only when its
// result has been handed back, so the slow stage holds the exporter's window.
import { Importer, importChannel, ackWhenDone } from 'rx-netchan';
import 'rx-netchan/node';
import { lastValueFrom, timer, first, map, switchMap, count } from 'rxjs';
import { memorySampler, report } from './common.mjs';

const TOTAL = Number(process.env.DEMO_TOTAL ?? 100_000);
const url = process.argv[2];
const mem = memorySampler();
const importer = Importer.connect(url);
importer.errors$.subscribe((e) => report({ event: 'error', code: e.code, message: e.message }));
const results = importChannel(importer, 'results', 'send', { size: 256 });

const slowStage = (item) =>
  timer(1).pipe(
    // Backpressure the other way too: wait for room in the results queue before finishing.
    switchMap(() => results.capacity$.pipe(first((room) => room > 0))),
    map(() => results.next({ i: item.i, square: item.i * item.i, rtt: Date.now() - item.sentAt })),
  );

const processed = await lastValueFrom(
  importChannel(importer, 'work', 'recv', { size: 64, count: TOTAL, ack: 'manual' }).pipe(ackWhenDone(slowStage, 64), count()),
);
results.complete();
await lastValueFrom(importer.drain(30_000), { defaultValue: undefined });
report({ event: 'done', role: 'importer', processed, ...mem.stop() });
await importer.close();
