// rx-netchan over nats:// across real processes: exporters and importers as child processes
// (test/nats/procs/worker.ts) on one nats-server. Bounded: every wait has a deadline, every
// child stops by itself, and none is left when the file ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import 'rx-netchan/nats';
import { Exporter, Importer, exportChannel, importChannel } from 'rx-netchan';
import { startNatsServer, stopAllNatsServers, type NatsServer } from '../helpers/natsServer.js';
import { closeAllClients, natsClient, type NatsClient } from '../helpers/natsClients.js';
import { Proc, liveProcs, stopAllProcs } from '../helpers/natsProcs.js';
import { uniqueChannel } from '../helpers/natsChannel.js';
import { range, record, within } from '../helpers/async.js';
import { channelNames } from '../../src/nats/channelNames.js';

let server: NatsServer;
let admin: NatsClient;
beforeAll(async () => {
  server = await startNatsServer();
  admin = await natsClient(server.url, 'admin');
});
afterAll(async () => {
  await stopAllProcs();
  await closeAllClients();
  await stopAllNatsServers();
  expect(liveProcs()).toBe(0);
});

/** Waits (checking every 50 ms) until the channel's consumer has `n` pull requests waiting: every importer is bound. */
async function waiting(channel: string, n: number): Promise<void> {
  const names = channelNames('netchan', channel);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const info = await admin.jsm.consumers.info(names.stream, names.consumer).catch(() => null);
    if (info && info.num_waiting >= n) return;
    if (Date.now() > deadline) throw new Error(`only ${info?.num_waiting ?? 0} of ${n} importers pulling after 15 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('rx-netchan/nats across processes', () => {
  it('an exporter process killed mid-stream (SIGKILL): every value it had published is still delivered, once; a new exporter completes the channel', async () => {
    const channel = uniqueChannel('killed-exporter');
    const names = channelNames('netchan', channel);
    const N = 3_000;
    const a = await Proc.start(
      { role: 'producer', url: server.url, transport: {}, channel, from: 0, n: N, waitForGo: false, rate: 3_000, reportEvery: 100, complete: true, deadlineMs: 30_000 },
      'exporter A',
    );
    await a.next('ready');
    // A slow consumer side (each value acknowledged 5 ms after it came, 4 at a time), so the stream holds a backlog when A dies.
    const imp = Importer.connect(server.url, { reconnect: true });
    const got = record(importChannel<number>(imp, channel, 'recv', { size: 4, ack: 'manual' }), (d) => setTimeout(() => d.ack(), 5));
    try {
      while (Number((await a.next('sent'))['n']) < 1_000);
      await a.kill();
      const stored = (await admin.jsm.streams.info(names.stream)).state;
      const publishedByA = stored.last_seq; // A was the only producer: stream sequences 1…last_seq are its values 0…last_seq-1
      expect(stored.messages).toBeGreaterThan(0); // a backlog A left behind, nobody has received it yet
      expect(publishedByA).toBeGreaterThan(100); // mid-stream: some published…
      expect(publishedByA).toBeLessThan(N); // …and some never (they were still in its memory)
      // A new exporter process of the name: it sends its own values and completes.
      const b = new Exporter();
      const bch = exportChannel<number>(b, channel, 'send');
      await b.listen(server.url);
      for (const i of range(500)) bch.next(100_000 + i);
      bch.complete();
      await got.until(() => got.ended, 20_000, 'the import completes (A gone, B complete)');
      expect(got.error).toBeUndefined();
      const values = got.values.map((d) => d.value);
      expect(new Set(values).size).toBe(values.length); // none twice
      expect(values.filter((v) => v < 100_000).sort((x, y) => x - y)).toEqual(range(publishedByA));
      expect(values.filter((v) => v >= 100_000).sort((x, y) => x - y)).toEqual(range(500, 100_000));
      console.log(`exporter killed after publishing ${publishedByA} values (${stored.messages} not yet received): all delivered once`);
      await b.close();
    } finally {
      await imp.close();
    }
  }, 40_000);

  it('three exporter processes and six importer processes share one channel: every value exactly once, shares within ±20 % of even', async () => {
    const channel = uniqueChannel('three-by-six');
    const K = 1_000; // per exporter
    const exporters = await Promise.all(
      range(3).map((i) =>
        Proc.start(
          { role: 'producer', url: server.url, transport: {}, channel, from: i * K, n: K, waitForGo: true, rate: 0, reportEvery: K, complete: true, deadlineMs: 60_000 },
          `exporter ${i}`,
        ),
      ),
    );
    await Promise.all(exporters.map((p) => p.next('ready', 20_000)));
    const importers = await Promise.all(
      range(6).map((i) =>
        Proc.start({ role: 'consumer', url: server.url, transport: {}, channel, size: 2, workMs: 8, deadlineMs: 60_000 }, `importer ${i}`),
      ),
    );
    await Promise.all(importers.map((p) => p.next('ready', 20_000)));
    await waiting(channel, 6);
    const t0 = Date.now();
    for (const e of exporters) e.send({ type: 'go' });
    const results = await within(Promise.all(importers.map((p) => p.next('done', 40_000))), 45_000, 'every importer completes');
    const ms = Date.now() - t0;
    await within(Promise.all(exporters.map((p) => p.next('done', 10_000))), 12_000, 'every exporter drained');
    const shares = results.map((r) => (r['values'] as number[]).length);
    const all = results.flatMap((r) => r['values'] as number[]).sort((x, y) => x - y);
    expect(all).toEqual(range(3 * K)); // every value, exactly once
    const even = (3 * K) / 6;
    console.log(`3 exporters × 6 importers: ${3 * K} values in ${ms} ms; shares ${shares.join(', ')} (even: ${even})`);
    for (const s of shares) expect(Math.abs(s - even) / even).toBeLessThanOrEqual(0.2);
    await Promise.all([...exporters, ...importers].map((p) => within(p.exited, 10_000, `${p.label} exits`)));
    expect(liveProcs()).toBe(0);
  }, 90_000);
});
