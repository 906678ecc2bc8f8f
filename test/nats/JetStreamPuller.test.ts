import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, stopAllNatsServers, type NatsServer } from '../helpers/natsServer.js';
import { closeAllClients, natsClient, type NatsClient } from '../helpers/natsClients.js';
import { PullerProbe, allCount, provision, publishRange, uniqueChannel } from '../helpers/natsChannel.js';
import { activeHandles, handleBaseline } from '../helpers/leaks.js';
import { within } from '../helpers/async.js';
import { parseDelivery } from '../../src/nats/JetStreamPuller.js';
import { isDrained, whenChannel } from '../../src/nats/whenChannel.js';
import { firstValueFrom } from 'rxjs';

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

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
const isLane = (subject: string) => /^_INBOX\.[^.]+$/.test(subject);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('JetStreamPuller', () => {
  it('shares a channel as a work queue: each value reaches exactly one of several importers', async () => {
    const base = handleBaseline();
    const p = await provision(admin.nc, uniqueChannel('wq'));
    const clients = await Promise.all([0, 1, 2].map((i) => natsClient(server.url, `importer-${i}`)));
    const probes = clients.map((c) => new PullerProbe(c.nc, c.jsm, p, { window: 8 }));
    await publishRange(admin.nc, p.names, 600);
    await allCount(probes, 600);

    const all = probes.flatMap((pr) => pr.values);
    expect(sorted(all)).toEqual(range(600));
    for (const pr of probes) expect(pr.got.length).toBeGreaterThan(0);
    expect((await server.subscriptionsOf('importer-0')).filter(isLane)).toHaveLength(2);
    // stop() returns once the server confirmed every acknowledgement.
    await Promise.all(probes.map((pr) => pr.puller.stop()));
    for (const pr of probes) expect(pr.puller.unconfirmedAcks).toBe(0);
    const info = await admin.jsm.consumers.info(p.names.stream, p.names.consumer);
    expect([info.num_pending, info.num_ack_pending, info.num_redelivered]).toEqual([0, 0, 0]);
    // Work-queue retention: acknowledged values are gone from the stream.
    expect((await admin.jsm.streams.info(p.names.stream)).state.messages).toBe(0);
    // stop() releases its pull lanes (inboxes without a wildcard; nats.js's request inbox ends in .*).
    for (let i = 0; i < 3; i++) expect((await server.subscriptionsOf(`importer-${i}`)).filter(isLane)).toEqual([]);
    await Promise.all(clients.map((c) => c.nc.close()));
    expect(await activeHandles(base)).toEqual([]);
  });

  it('never holds more than its window unacknowledged; the rest goes to the other importer', async () => {
    const p = await provision(admin.nc, uniqueChannel('window'));
    await publishRange(admin.nc, p.names, 20);
    const a = await natsClient(server.url);
    const holder = new PullerProbe(a.nc, a.jsm, p, { window: 3 }, true);
    await holder.count(3);
    const b = await natsClient(server.url);
    const other = new PullerProbe(b.nc, b.jsm, p, { window: 100 });
    await other.count(17);
    // 3 held + 17 elsewhere = all 20: the holder was never given a fourth.
    expect(holder.got).toHaveLength(3);
    expect(holder.maxUnacked).toBe(3);
    expect(sorted([...holder.values, ...other.values])).toEqual(range(20));
    await within(
      firstValueFrom(whenChannel(admin.nc, admin.jsm, p.names, (p) => p.consumer.num_pending === 0 && p.consumer.num_ack_pending === 3)),
      3_000,
      'the consumer to count 3 unacknowledged',
    );

    // Acknowledging out of order frees the window, and the holder takes new values again.
    holder.puller.ack(2);
    await publishRange(admin.nc, p.names, 1, 100);
    await within(Promise.race([holder.count(4), other.count(18)]), 5_000, 'value 100');
    await holder.puller.stop();
    await other.puller.stop();
  });

  it('keeps pulling with a window of 1 (one value at a time, acked each time)', async () => {
    const p = await provision(admin.nc, uniqueChannel('w1'));
    const c = await natsClient(server.url);
    const probe = new PullerProbe(c.nc, c.jsm, p, { window: 1 });
    await publishRange(admin.nc, p.names, 50);
    await probe.count(50);
    expect(probe.values).toEqual(range(50));
    expect(probe.maxUnacked).toBe(1);
    await probe.puller.stop();
  });

  it('gives its unacknowledged values back when it stops, to another importer at once', async () => {
    // ack_wait of 60 s: anything arriving within the test came by NAK, not by ack_wait.
    const p = await provision(admin.nc, uniqueChannel('stop'), { ackWait: 60_000 });
    await publishRange(admin.nc, p.names, 10);
    const a = await natsClient(server.url);
    const leaver = new PullerProbe(a.nc, a.jsm, p, { window: 4 }, true);
    await leaver.count(4);
    leaver.puller.ack(1);
    await leaver.count(5);
    const held = leaver.got.slice(1).map((g) => g.streamSeq);
    const b = await natsClient(server.url);
    const stayer = new PullerProbe(b.nc, b.jsm, p, { window: 10 });
    await stayer.count(5); // the 5 never delivered
    await leaver.puller.stop();
    await stayer.count(9, 5_000);
    expect(stayer.got.slice(5).map((g) => g.streamSeq).sort()).toEqual([...held].sort());
    expect(sorted([leaver.values[0]!, ...stayer.values])).toEqual(range(10));
    await stayer.puller.stop();
  });

  it('an importer that vanishes without a word has its values redelivered after ack_wait', async () => {
    const p = await provision(admin.nc, uniqueChannel('vanish'), { ackWait: 800 });
    await publishRange(admin.nc, p.names, 6);
    const a = await natsClient(server.url);
    const crashed = new PullerProbe(a.nc, a.jsm, p, { window: 3 }, true);
    await crashed.count(3);
    const b = await natsClient(server.url);
    const survivor = new PullerProbe(b.nc, b.jsm, p, { window: 10 });
    await survivor.count(3);
    await a.nc.close(); // no NAK: the server only learns from ack_wait
    await survivor.count(6, 5_000);
    expect(sorted(survivor.values)).toEqual(range(6));
    const info = await within(firstValueFrom(whenChannel(admin.nc, admin.jsm, p.names, isDrained)), 3_000, 'drained');
    expect(info.consumer.delivered.consumer_seq).toBe(9); // 6 deliveries + the 3 redeliveries
    await crashed.puller.stop();
    await survivor.puller.stop();
  });

  it('keeps a value it is still working on (working() every third of ack_wait): no redelivery', async () => {
    const p = await provision(admin.nc, uniqueChannel('wpi'), { ackWait: 600 });
    await publishRange(admin.nc, p.names, 1);
    const a = await natsClient(server.url);
    const slow = new PullerProbe(a.nc, a.jsm, p, { window: 2 }, true);
    await slow.count(1);
    const b = await natsClient(server.url);
    const other = new PullerProbe(b.nc, b.jsm, p, { window: 2 });
    // Hold it for over three ack_waits (the next test shows one is enough to redeliver), then ask the server.
    await new Promise((r) => setTimeout(r, 2_000));
    const info = await admin.jsm.consumers.info(p.names.stream, p.names.consumer);
    expect(info.num_ack_pending).toBe(1);
    expect(info.delivered.consumer_seq).toBe(1); // delivered once, never again
    expect(other.got).toHaveLength(0);
    slow.puller.ack(1);
    await slow.puller.stop();
    await other.puller.stop();
  });

  it('without keep-alive the server redelivers after ack_wait, and the holder does not deliver it twice', async () => {
    const p = await provision(admin.nc, uniqueChannel('dedup'), { ackWait: 400 });
    await publishRange(admin.nc, p.names, 1);
    const a = await natsClient(server.url);
    const slow = new PullerProbe(a.nc, a.jsm, p, { window: 2, keepAlive: false }, true);
    await slow.count(1);
    // The only importer with room is the holder itself: the redelivery comes back to it.
    await slow.until(() => slow.puller.duplicates >= 1, 5_000, 'a recognised redelivery');
    expect(slow.got).toHaveLength(1);
    slow.puller.ack(1);
    const info = await admin.jsm.consumers.info(p.names.stream, p.names.consumer);
    expect(info.delivered.consumer_seq).toBeGreaterThanOrEqual(2);
    await slow.puller.stop();
    // The ack of the first delivery settled the value even though it was redelivered since.
    const after = await admin.jsm.consumers.info(p.names.stream, p.names.consumer);
    expect(after.num_ack_pending).toBe(0);
    expect(after.num_pending).toBe(0);
  });

  it('takes exactly `limit` values (count), leaving the rest for others', async () => {
    const p = await provision(admin.nc, uniqueChannel('count'));
    await publishRange(admin.nc, p.names, 10);
    const a = await natsClient(server.url);
    const three = new PullerProbe(a.nc, a.jsm, p, { window: 8, limit: 3 });
    await three.count(3);
    const b = await natsClient(server.url);
    const rest = new PullerProbe(b.nc, b.jsm, p, { window: 8 });
    await rest.count(7);
    expect(three.values).toEqual([0, 1, 2]);
    expect(rest.values).toEqual(range(7, 3));
    await three.puller.stop();
    await rest.puller.stop();
  });

  it('errors with ECLOSED when the channel is deleted under it (hangup)', async () => {
    const p = await provision(admin.nc, uniqueChannel('gone'));
    const a = await natsClient(server.url);
    const probe = new PullerProbe(a.nc, a.jsm, p, { window: 4 });
    await publishRange(admin.nc, p.names, 1);
    await probe.count(1);
    await admin.jsm.streams.delete(p.names.stream);
    await probe.until(() => probe.error !== null, 8_000, 'an error');
    expect(probe.error).toMatchObject({ code: 'ECLOSED', message: expect.stringContaining(p.names.channel) });
    await probe.puller.stop();
  });

  it('stop() ends within its bound while the server is down; the values come back after the restart', async () => {
    const own = await startNatsServer();
    const adm = await natsClient(own.url, 'own-admin');
    const p = await provision(adm.nc, uniqueChannel('down'), { ackWait: 1_000 });
    await publishRange(adm.nc, p.names, 2);
    const a = await natsClient(own.url, 'stranded');
    const stranded = new PullerProbe(a.nc, a.jsm, p, { window: 4, stopTimeout: 300 }, true);
    await stranded.count(2);
    await own.kill();
    const t = Date.now();
    await stranded.puller.stop();
    expect(Date.now() - t).toBeLessThan(2_000);
    await own.start();
    // Its NAKs never reached the server; ack_wait brings the values back to the next importer.
    const b = await natsClient(own.url, 'next');
    const next = new PullerProbe(b.nc, b.jsm, p, { window: 4 });
    await next.count(2, 8_000);
    expect(sorted(next.values)).toEqual([0, 1]);
    await next.puller.stop();
    await Promise.all([a.nc.close(), b.nc.close(), adm.nc.close()]);
    await own.stop();
  });

  it('errors with ECLOSED when its connection is closed under it', async () => {
    const p = await provision(admin.nc, uniqueChannel('closing'));
    const a = await natsClient(server.url);
    const probe = new PullerProbe(a.nc, a.jsm, p, { window: 4 });
    await a.nc.close();
    await probe.until(() => probe.error !== null, 3_000, 'an error');
    expect(probe.error).toMatchObject({ code: 'ECLOSED', message: expect.stringContaining('connection closed') });
    await probe.puller.stop();
  });

  it('parses both ack subject layouts and refuses others', () => {
    expect(parseDelivery('$JS.ACK.S.C.3.17.20.1700000000000000000.4')).toEqual({ streamSeq: 17, deliveryCount: 3 });
    expect(parseDelivery('$JS.ACK.dom.ACCHASH.S.C.2.9.11.1700000000000000000.0.tok')).toEqual({ streamSeq: 9, deliveryCount: 2 });
    expect(parseDelivery('$JS.ACK.S.C.x.y')).toBeNull();
    expect(parseDelivery('_INBOX.abc')).toBeNull();
    expect(parseDelivery(undefined)).toBeNull();
  });
});
