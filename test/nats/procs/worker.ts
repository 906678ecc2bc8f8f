// One exporter or importer process of the NATS process tests (built by test/helpers/natsProcs.ts).
// Talks to the test over IPC: { type: 'ready' | 'sent' | 'done' | 'failed', … }. It stops by itself
// after `deadlineMs`, so even an abandoned child ends; the parent also kills it (and the kernel
// does, by pdeathsig, if the parent dies).
import { filter, firstValueFrom } from 'rxjs';
import '../../../src/nats.js';
import { Exporter, Importer, exportChannel, importChannel, type Delivery } from '../../../src/index.js';

interface ProducerArgs {
  role: 'producer';
  url: string;
  transport: Record<string, unknown>;
  channel: string;
  /** Values `from … from+n-1`. */
  from: number;
  n: number;
  /** Wait for { type: 'go' } before sending. */
  waitForGo: boolean;
  /** Most values sent per second (0: as fast as the channel takes them). */
  rate: number;
  /** Report { type: 'sent', n } every this many values. */
  reportEvery: number;
  complete: boolean;
  deadlineMs: number;
}

interface ConsumerArgs {
  role: 'consumer';
  url: string;
  transport: Record<string, unknown>;
  channel: string;
  size: number;
  /** Ms of (asynchronous) work per value before it is acknowledged. */
  workMs: number;
  deadlineMs: number;
}

type Args = ProducerArgs | ConsumerArgs;

const args = JSON.parse(process.argv[2]!) as Args;
const send = (m: object): void => {
  process.send?.(m);
};
const fail = (e: unknown): void => {
  send({ type: 'failed', error: `${(e as { code?: string }).code ?? ''} ${(e as Error).message ?? String(e)}` });
  setTimeout(() => process.exit(1), 50);
};
setTimeout(() => fail(new Error(`deadline of ${args.deadlineMs} ms passed`)), args.deadlineMs).unref();
process.on('disconnect', () => process.exit(0)); // the test went away

async function producer(a: ProducerArgs): Promise<void> {
  const exporter = new Exporter({ transport: a.transport });
  exporter.errors$.subscribe((e) => send({ type: 'log', message: `${e.code} ${e.message}` }));
  const ch = exportChannel<number>(exporter, a.channel, 'send');
  await exporter.listen(a.url);
  send({ type: 'ready' });
  if (a.waitForGo) await new Promise<void>((resolve) => process.on('message', (m: { type?: string }) => m.type === 'go' && resolve()));
  const t0 = Date.now();
  for (let i = 0; i < a.n; i++) {
    if (a.rate > 0) {
      const due = t0 + (i * 1000) / a.rate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    if (ch.capacity === 0) await firstValueFrom(ch.capacity$.pipe(filter((c) => c > 0)));
    ch.next(a.from + i);
    if ((i + 1) % a.reportEvery === 0) send({ type: 'sent', n: i + 1 });
  }
  send({ type: 'sent', n: a.n });
  if (!a.complete) return;
  ch.complete();
  // Drain: every value this process sent has been received and acknowledged by some importer.
  await firstValueFrom(exporter.drain(), { defaultValue: undefined });
  send({ type: 'done' });
  await exporter.close();
  process.exit(0);
}

async function consumer(a: ConsumerArgs): Promise<void> {
  const importer = Importer.connect(a.url, { transport: a.transport, reconnect: true });
  const values: number[] = [];
  let held = 0;
  importChannel<number>(importer, a.channel, 'recv', { size: a.size, ack: 'manual' }).subscribe({
    next: (d: Delivery<number>) => {
      values.push(d.value);
      held++;
      setTimeout(() => {
        held--;
        d.ack();
      }, a.workMs);
    },
    error: fail,
    complete: () => {
      send({ type: 'done', values, held });
      void importer.close().then(() => process.exit(0));
    },
  });
  await firstValueFrom(importer.state$.pipe(filter((s) => s === 'open')));
  send({ type: 'ready' });
}

(args.role === 'producer' ? producer(args) : consumer(args)).catch(fail);
