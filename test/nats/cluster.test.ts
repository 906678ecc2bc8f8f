import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstValueFrom } from 'rxjs';
import { existsSync } from 'node:fs';
import { liveNatsServerPids, startNatsCluster, stopAllNatsServers, type NatsCluster, type NatsServer } from '../helpers/natsServer.js';
import { closeAllClients, natsClient, type NatsClient } from '../helpers/natsClients.js';
import { PullerProbe, allCount, payloadOf, provision, uniqueChannel } from '../helpers/natsChannel.js';
import { within } from '../helpers/async.js';
import { JetStreamPublisher } from '../../src/nats/JetStreamPublisher.js';
import { isDrained, whenChannel } from '../../src/nats/whenChannel.js';
import type { ProvisionedChannel } from '../../src/nats/provisionChannel.js';
import type { NetchanError } from '../../src/errors/NetchanError.js';

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
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Client URLs with `first` first (and noRandomize), so a client sits on the node we choose. */
const seeds = (first: NatsServer) => [first.url, ...cluster.nodes.filter((n) => n !== first).map((n) => n.url)];
const node = (name: string | undefined) => cluster.nodes.find((n) => n.name === name)!;

/** The nodes leading the channel's stream and consumer (waits for a fresh consumer's first election). */
async function leaders(p: ProvisionedChannel): Promise<{ stream: string; consumer: string }> {
  for (let i = 0; i < 50; i++) {
    const [s, c] = await Promise.all([admin.jsm.streams.info(p.names.stream), admin.jsm.consumers.info(p.names.stream, p.names.consumer)]);
    if (s.cluster?.leader && c.cluster?.leader) return { stream: s.cluster.leader, consumer: c.cluster.leader };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no leaders elected');
}

/** Moves the consumer's leadership off the stream leader's node (step-downs pick a new leader at random). */
async function separateLeaders(p: ProvisionedChannel): Promise<{ stream: string; consumer: string }> {
  for (let i = 0; i < 20; i++) {
    const l = await leaders(p).catch(() => null);
    if (l && l.stream !== l.consumer) return l;
    if (l) await admin.nc.request(`$JS.API.CONSUMER.LEADER.STEPDOWN.${p.names.stream}.${p.names.consumer}`, undefined, { timeout: 2_000 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('could not separate stream and consumer leaders');
}

/**
 * Publishes N values as fast as credit allows; SIGKILLs `victim` once a third
 * is stored and restarts it at two thirds; resolves when the importers have
 * received N values in all.
 */
async function publishThroughKill(p: ProvisionedChannel, victim: NatsServer, probes: PullerProbe[]) {
  const pc = await natsClient(seeds(victim), 'publisher', { noRandomize: true });
  const failures: NetchanError[] = [];
  let next = 0;
  let killed = false;
  let restarted: Promise<void> | null = null;
  const pub = new JetStreamPublisher(
    pc.nc,
    { channel: p.names.channel, subject: p.names.subject, stream: p.names.stream, maxOutstanding: 64, timeout: 1_000, duplicateWindow: 120_000 },
    {
      acked: (n) => {
        if (!killed && n >= N / 3) {
          killed = true;
          void victim.kill();
        }
        if (killed && restarted === null && n >= (2 * N) / 3) restarted = victim.start(15_000);
        pump();
      },
      failed: (_seq, _payload, e) => failures.push(e),
    },
  );
  const pump = () => {
    while (next < N && pub.credit > 0) pub.send(payloadOf(next++));
  };
  pump();
  await allCount(probes, N, 15_000);
  await restarted;
  expect(killed).toBe(true);
  expect(victim.running).toBe(true);
  expect(failures).toEqual([]);
  expect(pub.acked).toBe(N);
  pub.close();
  await pc.nc.close();
  return pub;
}

describe('an R3 channel on a 3-node cluster', () => {
  it('survives SIGKILL of its stream leader mid-stream and its restart: every value exactly once across two importers', async () => {
    const p = await provision(admin.nc, uniqueChannel('r3-stream'), { replicas: 3, ackWait: 2_000 });
    const l = await separateLeaders(p);
    const victim = node(l.stream);
    // One importer on the victim (its connection dies with it), one on the consumer leader.
    const ca = await natsClient(seeds(victim), 'importer-a', { noRandomize: true });
    const cb = await natsClient(seeds(node(l.consumer)), 'importer-b', { noRandomize: true });
    const probes = [new PullerProbe(ca.nc, ca.jsm, p, { window: 16 }), new PullerProbe(cb.nc, cb.jsm, p, { window: 16 })];
    const pub = await publishThroughKill(p, victim, probes);

    const all = probes.flatMap((pr) => pr.values).sort((a, b) => a - b);
    expect(all).toEqual(range(N)); // none lost, none twice
    expect(new Set(probes.flatMap((pr) => pr.got.map((g) => g.streamSeq))).size).toBe(N); // and stored once each
    await Promise.all(probes.map((pr) => pr.puller.stop()));
    await within(firstValueFrom(whenChannel(admin.nc, admin.jsm, p.names, isDrained)), 5_000, 'drained');
    console.log(`stream leader killed: publish retries the stream recognised: ${pub.duplicates}`);
  }, 20_000);

  it('survives SIGKILL of its consumer leader and its restart: every value exactly once (the importer drops any redelivery)', async () => {
    const p = await provision(admin.nc, uniqueChannel('r3-consumer'), { replicas: 3, ackWait: 2_000 });
    const l = await leaders(p);
    const victim = node(l.consumer);
    const others = cluster.nodes.filter((n) => n !== victim);
    const c = await natsClient(seeds(others[0]!), 'importer', { noRandomize: true });
    const probe = new PullerProbe(c.nc, c.jsm, p, { window: 16 });
    const pub = await publishThroughKill(p, victim, [probe]);

    expect([...probe.values].sort((a, b) => a - b)).toEqual(range(N));
    await probe.puller.stop();
    await within(firstValueFrom(whenChannel(admin.nc, admin.jsm, p.names, isDrained)), 5_000, 'drained');
    console.log(`consumer leader killed: redeliveries recognised by the importer: ${probe.puller.duplicates}; publish retries recognised: ${pub.duplicates}`);
  }, 20_000);
});
