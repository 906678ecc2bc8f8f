// rx-netchan over nats:// on a real 3-node cluster with R3 channels, through the public API:
// a node is SIGKILLed mid-stream and restarted, and every value still arrives exactly once.
// Where exactly-once holds on nats-server 2.9 and where it cannot is in docs/NATS.md; these
// are the cases where it holds: the stream leader's node dies (several importers), or the
// consumer leader's node dies with one importer (it recognises the redeliveries itself).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import 'rx-netchan/nats';
import type { NatsConfig } from 'rx-netchan/nats';
import { Exporter, Importer, exportChannel, importChannel } from 'rx-netchan';
import { liveNatsServerPids, startNatsCluster, stopAllNatsServers, type NatsCluster, type NatsServer } from '../helpers/natsServer.js';
import { closeAllClients, natsClient, type NatsClient } from '../helpers/natsClients.js';
import { uniqueChannel } from '../helpers/natsChannel.js';
import { range, record, type Recorder } from '../helpers/async.js';
import { channelNames, type ChannelNames } from '../../src/nats/channelNames.js';

let cluster: NatsCluster;
let admin: NatsClient;
beforeAll(async () => {
  cluster = await startNatsCluster(3);
  admin = await natsClient(cluster.urls, 'admin');
});
afterAll(async () => {
  await closeAllClients();
  const { dir } = cluster;
  await stopAllNatsServers();
  // The helper's own guarantees: no server process and no store left behind.
  expect(liveNatsServerPids()).toEqual([]);
  expect(existsSync(dir)).toBe(false);
});

const N = 2_000;
/** R3, short timeouts so a failover is ridden out quickly. */
const transport = (): NatsConfig => ({ servers: cluster.urls, replicas: 3, ackWait: 2_000, publishTimeout: 1_000, reconnectTimeWait: 100 });
const node = (name: string | undefined): NatsServer => cluster.nodes.find((n) => n.name === name)!;

/** The nodes leading the channel's stream and consumer (waits for a fresh consumer's first election). */
async function leaders(names: ChannelNames): Promise<{ stream: string; consumer: string }> {
  for (let i = 0; i < 50; i++) {
    const [s, c] = await Promise.all([admin.jsm.streams.info(names.stream), admin.jsm.consumers.info(names.stream, names.consumer)]);
    if (s.cluster?.leader && c.cluster?.leader) return { stream: s.cluster.leader, consumer: c.cluster.leader };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no leaders elected');
}

/** Moves the consumer's leadership off the stream leader's node (step-downs pick a new leader at random). */
async function separateLeaders(names: ChannelNames): Promise<{ stream: string; consumer: string }> {
  for (let i = 0; i < 20; i++) {
    const l = await leaders(names).catch(() => null);
    if (l && l.stream !== l.consumer) return l;
    if (l) await admin.nc.request(`$JS.API.CONSUMER.LEADER.STEPDOWN.${names.stream}.${names.consumer}`, undefined, { timeout: 2_000 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('could not separate stream and consumer leaders');
}

/**
 * Exports `channel` (R3) and sends N values at about 1 000 a second while
 * `importers` imports receive them; SIGKILLs `victim` once a third has been
 * received and restarts it at two thirds; resolves when every import has
 * completed (after the exporter's complete()).
 */
async function throughKill(channel: string, pickVictim: (names: ChannelNames) => Promise<string>, importers: number): Promise<Array<Recorder<number>>> {
  const names = channelNames('netchan', channel);
  const ex = new Exporter({ transport: transport() as Record<string, unknown> });
  const errors = record(ex.errors$);
  const ch = exportChannel<number>(ex, channel, 'send');
  await ex.listen(cluster.nodes[0]!.url);
  const victim = node(await pickVictim(names));
  const imps = range(importers).map((i) => Importer.connect(cluster.nodes[i % 3]!.url, { transport: transport() as Record<string, unknown>, reconnect: true }));
  const got = imps.map((imp) => record(importChannel<number>(imp, channel, 'recv', { size: 16 })));
  const total = (): number => got.reduce((s, g) => s + g.values.length, 0);
  let killed: Promise<void> | null = null;
  let restarted: Promise<void> | null = null;
  const step = async (): Promise<void> => {
    if (killed === null && total() >= N / 3) killed = victim.kill();
    if (killed !== null && restarted === null && total() >= (2 * N) / 3) {
      await killed;
      restarted = victim.start(15_000);
    }
  };
  try {
    // About 1 000 values a second, as the queue allows: the exporter is still sending when the node dies.
    for (let i = 0; i < N; ) {
      for (let k = 0; k < 10 && i < N && ch.capacity > 0; k++) ch.next(i++);
      await new Promise((r) => setTimeout(r, 10));
      await step();
    }
    const deadline = Date.now() + 30_000;
    while (restarted === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
      await step();
    }
    ch.complete();
    await Promise.all(got.map((g, i) => g.until(() => g.ended, 30_000, `import ${i} completes`)));
    expect(killed).not.toBeNull();
    await restarted;
    expect(victim.running).toBe(true);
    for (const g of got) expect(g.error).toBeUndefined();
    expect(errors.values.filter((e) => e.code !== 'ECLOSED')).toEqual([]); // only the drop itself
    return got;
  } finally {
    await Promise.all(imps.map((i) => i.close()));
    await ex.close();
  }
}

describe('an R3 channel on a 3-node cluster, through the public API', () => {
  it('SIGKILL of its stream leader mid-stream, then its restart: every value exactly once across two importers', async () => {
    const got = await throughKill(uniqueChannel('r3-stream'), async (names) => (await separateLeaders(names)).stream, 2);
    const all = got.flatMap((g) => g.values).sort((a, b) => a - b);
    expect(all).toEqual(range(N)); // none lost, none twice
    console.log(`stream leader killed: shares ${got.map((g) => g.values.length).join(' + ')}`);
  }, 60_000);

  it('SIGKILL of its consumer leader, then its restart: every value exactly once to one importer (it drops the redeliveries)', async () => {
    const got = await throughKill(uniqueChannel('r3-consumer'), async (names) => (await leaders(names)).consumer, 1);
    expect([...got[0]!.values].sort((a, b) => a - b)).toEqual(range(N));
  }, 60_000);
});
