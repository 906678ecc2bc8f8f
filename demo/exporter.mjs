// The exporter process: hands out 100,000 work items on 'work' (paced by the
// queue's room, so memory stays flat) and collects results on 'results'.
import { Exporter, exportChannel, feed, drain } from 'rx-netchan';
import 'rx-netchan/node';
import { lastValueFrom, scan, last } from 'rxjs';
import { memorySampler, report, progressBar } from './common.mjs';

const TOTAL = Number(process.env.DEMO_TOTAL ?? 100_000);
const QUEUE_LIMIT = 1024;
const mem = memorySampler();
// remoteMetrics: `npx rx-netchan stat <url>` can watch it from another terminal while it runs.
const exporter = new Exporter({ remoteMetrics: true });
const work = exportChannel(exporter, 'work', 'send', { queueLimit: QUEUE_LIMIT });
const results = exportChannel(exporter, 'results', 'recv');
const { url } = await exporter.listen('tcp://127.0.0.1:0');
report({ event: 'listening', url, idleRss: mem.idle });

function* items() {
  for (let i = 0; i < TOTAL; i++) yield { i, payload: 'x'.repeat(64), sentAt: Date.now() };
}

const started = Date.now();
// Public counters only: `pending` = queued + in flight.
const bar = progressBar('round trips', TOTAL, () => `in flight ${work.pending - work.queued} | queued ${work.queued}`);
let checksum = 0;
const gotAll = lastValueFrom(
  results.pipe(
    scan((n, r) => {
      checksum += r.square;
      bar.update(n + 1);
      return n + 1;
    }, 0),
    last(),
  ),
);
await lastValueFrom(feed(work, items(), { complete: true }).pipe(drain(work, { timeout: 120_000 })));
const drainedMs = Date.now() - started;
const received = await gotAll;
const elapsed = Date.now() - started;
bar.done();
let expected = 0;
for (let i = 0; i < TOTAL; i++) expected += i * i;
report({
  event: 'done',
  role: 'exporter',
  received,
  ok: received === TOTAL && checksum === expected,
  elapsedMs: elapsed,
  drainedMs,
  perSecond: Math.round((received / elapsed) * 1000),
  ...mem.stop(),
});
await exporter.close();
