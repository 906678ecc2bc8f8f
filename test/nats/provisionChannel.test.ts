import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsCluster, startNatsServer, stopAllNatsServers, type NatsServer } from '../helpers/natsServer.js';
import { closeAllClients, natsClient, type NatsClient } from '../helpers/natsClients.js';
import { uniqueChannel } from '../helpers/natsChannel.js';
import { channelNames } from '../../src/nats/channelNames.js';
import { resolveNatsConfig } from '../../src/nats/NatsConfig.js';
import { parseStreamDescription, provisionChannel, streamDescription } from '../../src/nats/provisionChannel.js';

let server: NatsServer;
let admin: NatsClient;
beforeAll(async () => {
  server = await startNatsServer();
  admin = await natsClient(server.url, 'admin');
});
afterAll(async () => {
  await closeAllClients();
  await stopAllNatsServers();
});

describe('provisionChannel', () => {
  it('creates a work-queue stream and its durable explicit-ack consumer with the configured settings', async () => {
    const names = channelNames('netchan', uniqueChannel('fresh'));
    const p = await provisionChannel(admin.nc, names, 'send', resolveNatsConfig({ ackWait: 7_000, maxDeliver: 5, duplicateWindow: 60_000 }));
    expect(p.stream.config).toMatchObject({
      name: names.stream,
      subjects: [names.subject],
      retention: 'workqueue',
      storage: 'file',
      discard: 'new',
      num_replicas: 1,
      duplicate_window: 60e9,
      description: streamDescription('send', names.channel),
    });
    expect(p.consumer.config).toMatchObject({ durable_name: 'netchan', ack_policy: 'explicit', ack_wait: 7e9, max_deliver: 5, max_waiting: 4_096 });
    expect(p.ackWait).toBe(7_000);
  });

  it('is idempotent, and a later exporter adopts the first one’s settings', async () => {
    const names = channelNames('netchan', uniqueChannel('again'));
    await provisionChannel(admin.nc, names, 'send', resolveNatsConfig({ ackWait: 5_000 }));
    const second = await provisionChannel(admin.nc, names, 'send', resolveNatsConfig({ ackWait: 9_000, duplicateWindow: 30_000 }));
    expect(second.ackWait).toBe(5_000);
    expect(second.stream.config.duplicate_window).toBe(120e9);
    expect((await admin.jsm.consumers.info(names.stream, 'netchan')).config.ack_wait).toBe(5e9);
  });

  it('survives several exporters starting at once (one stream, one consumer, everyone succeeds)', async () => {
    const names = channelNames('netchan', uniqueChannel('race'));
    const clients = await Promise.all(Array.from({ length: 8 }, (_, i) => natsClient(server.url, `exporter-${i}`)));
    const results = await Promise.all(clients.map((c) => provisionChannel(c.nc, names, 'send', resolveNatsConfig({ ackWait: 4_000 }))));
    expect(new Set(results.map((r) => r.stream.config.name))).toEqual(new Set([names.stream]));
    expect(new Set(results.map((r) => r.ackWait))).toEqual(new Set([4_000]));
    const consumers = await admin.jsm.consumers.list(names.stream).next();
    expect(consumers.map((c) => c.name)).toEqual(['netchan']);

    // Different settings at the same instant: nats-server 2.9 has no create-only consumer
    // action (2.10 has), so one of them wins; still one stream, one consumer, no failure.
    const other = channelNames('netchan', uniqueChannel('race2'));
    const mixed = await Promise.all(clients.map((c, i) => provisionChannel(c.nc, other, 'send', resolveNatsConfig({ ackWait: 1_000 * (i + 1) }))));
    expect(mixed).toHaveLength(8);
    const final = await admin.jsm.consumers.info(other.stream, 'netchan');
    expect(mixed.map((r) => r.ackWait)).toContain((final.config.ack_wait ?? 0) / 1e6);
    expect((await admin.jsm.consumers.list(other.stream).next()).map((c) => c.name)).toEqual(['netchan']);
  });

  it('refuses the other direction with EDIR, and a stream that is not a channel’s with EEXIST', async () => {
    const names = channelNames('netchan', uniqueChannel('dir'));
    await provisionChannel(admin.nc, names, 'recv', resolveNatsConfig());
    await expect(provisionChannel(admin.nc, names, 'send', resolveNatsConfig())).rejects.toMatchObject({
      code: 'EDIR',
      message: `channel "${names.channel}" is already exported for 'recv' on NATS; cannot export it for 'send'`,
    });
    const foreign = channelNames('netchan', uniqueChannel('foreign'));
    await admin.jsm.streams.add({ name: foreign.stream, subjects: [foreign.subject] });
    await expect(provisionChannel(admin.nc, foreign, 'send', resolveNatsConfig())).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('reads back only descriptions it wrote', () => {
    expect(parseStreamDescription(streamDescription('recv', 'a "quoted" name'))).toEqual({ dir: 'recv', channel: 'a "quoted" name' });
    expect(parseStreamDescription('rx-netchan send not-json')).toBeNull();
    expect(parseStreamDescription(undefined)).toBeNull();
  });

  it('on a 3-node cluster: concurrent exporters get one R3 stream and one consumer', async () => {
    const cluster = await startNatsCluster(3);
    const names = channelNames('netchan', uniqueChannel('r3race'));
    // Each exporter through a different node.
    const clients = await Promise.all(Array.from({ length: 6 }, (_, i) => natsClient(cluster.nodes[i % 3]!.url, `exporter-${i}`)));
    const results = await Promise.all(clients.map((c) => provisionChannel(c.nc, names, 'send', resolveNatsConfig({ replicas: 3 }))));
    expect(results.every((r) => r.stream.config.num_replicas === 3)).toBe(true);
    const info = await clients[0]!.jsm.streams.info(names.stream);
    expect(info.cluster?.replicas).toHaveLength(2);
    const consumers = await clients[0]!.jsm.consumers.list(names.stream).next();
    expect(consumers.map((c) => c.name)).toEqual(['netchan']);
    await Promise.all(clients.map((c) => c.nc.close()));
    await cluster.stop();
  });
});
