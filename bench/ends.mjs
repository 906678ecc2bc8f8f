// Streams 256 MiB (64 KiB chunks) exporter -> importer over TCP on loopback,
// through a named channel and through a channel end that travelled inside a
// value, alternating reps in one process pair; prints MB/s and the ratio.
//
//   npm run build && node bench/ends.mjs [--mib 256] [--reps 5]
import { parseArgs } from 'node:util';
import { Exporter, Importer, channelPair, exportChannel, importChannel, feed } from '../dist/index.js';
import '../dist/node.js';
import { lastValueFrom } from 'rxjs';

const { values: args } = parseArgs({ options: { mib: { type: 'string', default: '256' }, reps: { type: 'string', default: '5' } } });
const CHUNK = 64 * 1024;
const CHUNKS = (Number(args.mib) * 1024 * 1024) / CHUNK;
const payload = new Uint8Array(CHUNK).fill(7);
const chunks = function* () {
  for (let i = 0; i < CHUNKS; i++) yield payload;
};

const exporter = new Exporter();
const named = exportChannel(exporter, 'blobs', 'send');
const requests = exportChannel(exporter, 'requests', 'recv', { keepOpen: true });
requests.subscribe(({ sink }) => feed(sink, chunks(), { complete: true }).subscribe());
const { url } = await exporter.listen('tcp://127.0.0.1:0');
const importer = Importer.connect(url);
const ask = importChannel(importer, 'requests', 'send');

async function viaNamed() {
  const t0 = performance.now();
  feed(named, chunks()).subscribe();
  let bytes = 0;
  await lastValueFrom(importChannel(importer, 'blobs', 'recv', { count: CHUNKS }), { defaultValue: null }).catch(() => null);
  bytes = CHUNKS * CHUNK;
  return bytes / ((performance.now() - t0) / 1000);
}

async function viaEnd() {
  const t0 = performance.now();
  const [data, sink] = channelPair();
  ask.next({ sink });
  let n = 0;
  await new Promise((resolve, reject) => data.subscribe({ next: () => n++, error: reject, complete: resolve }));
  if (n !== CHUNKS) throw new Error(`got ${n} chunks`);
  return (CHUNKS * CHUNK) / ((performance.now() - t0) / 1000);
}

const rows = [];
await viaNamed(); // warm up
await viaEnd();
for (let r = 0; r < Number(args.reps); r++) {
  const a = await viaNamed();
  const b = await viaEnd();
  rows.push({ named: a, end: b, ratio: b / a });
}
const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const mb = (x) => (x / 1e6).toFixed(0);
console.log(`${args.mib} MiB, 64 KiB chunks, TCP loopback, ${rows.length} alternating reps`);
for (const r of rows) console.log(`  named ${mb(r.named)} MB/s   travelled end ${mb(r.end)} MB/s   ratio ${r.ratio.toFixed(2)}`);
console.log(`median: named ${mb(median(rows.map((r) => r.named)))} MB/s, travelled end ${mb(median(rows.map((r) => r.end)))} MB/s, ratio ${median(rows.map((r) => r.ratio)).toFixed(2)}×`);
await importer.close();
await exporter.close();
