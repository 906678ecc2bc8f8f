import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstValueFrom } from 'rxjs';
import { RetentionPolicy, type ConsumerInfo, type JetStreamManager, type StreamInfo } from '@nats-io/jetstream';
import { progressOf } from '../../src/nats/ChannelWatch.js';
import { startNatsServer, stopAllNatsServers, type NatsServer } from '../helpers/natsServer.js';
import { closeAllClients, natsClient, type NatsClient } from '../helpers/natsClients.js';
import { PullerProbe, provision, publishRange, uniqueChannel } from '../helpers/natsChannel.js';
import { activeHandles, handleBaseline } from '../helpers/leaks.js';
import { failure, within } from '../helpers/async.js';
import { isAckedThrough, isDrained, whenChannel } from '../../src/nats/whenChannel.js';

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

/** The same manager, counting consumer info requests. */
function counting(jsm: JetStreamManager): { jsm: JetStreamManager; calls: () => number } {
  let n = 0;
  const info = jsm.consumers.info.bind(jsm.consumers);
  const consumers = Object.create(jsm.consumers) as JetStreamManager['consumers'];
  consumers.info = (s: string, c: string) => (n++, info(s, c));
  return { jsm: Object.assign(Object.create(jsm) as JetStreamManager, { consumers }), calls: () => n };
}

describe('whenChannel', () => {
  it('completes soon after the last acknowledgement, and asks rarely while nothing moves', async () => {
    const p = await provision(admin.nc, uniqueChannel('drain'));
    await publishRange(admin.nc, p.names, 5);
    const c = await natsClient(server.url);
    const holder = new PullerProbe(c.nc, c.jsm, p, { window: 5 }, true);
    await holder.count(5);
    const { jsm, calls } = counting(admin.jsm);
    let doneAt = 0;
    const done = firstValueFrom(whenChannel(admin.nc, jsm, p.names, isDrained)).then((info) => ((doneAt = Date.now()), info));
    // 1.2 s without acknowledgements: backing off from 10 ms to 1 s that is at most 8 requests (tight polling would be hundreds).
    await new Promise((r) => setTimeout(r, 1_200));
    expect(doneAt).toBe(0);
    expect(calls()).toBeLessThanOrEqual(8);
    const ackedAt = Date.now();
    for (let i = 1; i <= 5; i++) holder.puller.ack(i);
    const info = await within(done, 3_000, 'drained');
    expect([info.consumer.num_pending, info.consumer.num_ack_pending]).toEqual([0, 0]);
    // Woken by the acknowledgements themselves, not by the next 1 s check.
    expect(doneAt - ackedAt).toBeLessThan(500);
    await holder.puller.stop();
  });

  it('isAckedThrough(seq) waits for one producer’s values only, while later ones are still held', async () => {
    const p = await provision(admin.nc, uniqueChannel('through'));
    await publishRange(admin.nc, p.names, 3); // stream seqs 1-3: "my" values
    await publishRange(admin.nc, p.names, 3, 10); // 4-6: someone else's
    const c = await natsClient(server.url);
    const probe = new PullerProbe(c.nc, c.jsm, p, { window: 6 }, true);
    await probe.count(6);
    const mine = firstValueFrom(whenChannel(admin.nc, admin.jsm, p.names, isAckedThrough(3)));
    for (const g of probe.got) if (g.streamSeq <= 3) probe.puller.ack(g.seq);
    const info = await within(mine, 3_000, 'acked through 3');
    expect(info.receivedThrough).toBe(3);
    expect(isDrained(info)).toBe(false);
    expect(info.stream.state.messages).toBe(3); // the others' values, still held
    await probe.puller.stop();
  });

  it('completes at once when already drained', async () => {
    const p = await provision(admin.nc, uniqueChannel('empty'));
    const info = await within(firstValueFrom(whenChannel(admin.nc, admin.jsm, p.names, isDrained)), 1_000, 'drained');
    expect(info.consumer.num_pending).toBe(0);
  });

  it('errors with ECLOSED when the channel disappears while waiting', async () => {
    const p = await provision(admin.nc, uniqueChannel('vanishing'));
    await publishRange(admin.nc, p.names, 1);
    const failed = failure(whenChannel(admin.nc, admin.jsm, p.names, isDrained), 5_000);
    await admin.jsm.streams.delete(p.names.stream);
    expect(await failed).toMatchObject({ code: 'ECLOSED' });
  });

  it('reads a work queue from its stream, other retentions from the consumer (whose ack floor 2.9 can leave behind)', () => {
    const consumer = (o: { pending: number; ackPending: number; floor: number; delivered: number }) =>
      ({ num_pending: o.pending, num_ack_pending: o.ackPending, ack_floor: { stream_seq: o.floor }, delivered: { stream_seq: o.delivered } }) as unknown as ConsumerInfo;
    const stream = (retention: RetentionPolicy, first: number, messages: number) => ({ config: { retention }, state: { first_seq: first, messages } }) as unknown as StreamInfo;
    // After a restart from its store: every value acknowledged, ack floor still 0.
    const restarted = consumer({ pending: 0, ackPending: 0, floor: 0, delivered: 40 });
    expect(progressOf(stream(RetentionPolicy.Workqueue, 41, 0), restarted)).toMatchObject({ receivedThrough: 40, drained: true });
    // 1-3 acknowledged, 5 acknowledged out of order, 4 held: through 3 only.
    expect(progressOf(stream(RetentionPolicy.Workqueue, 4, 2), consumer({ pending: 1, ackPending: 1, floor: 3, delivered: 5 }))).toMatchObject({ receivedThrough: 3, drained: false });
    expect(progressOf(stream(RetentionPolicy.Interest, 1, 5), consumer({ pending: 0, ackPending: 2, floor: 3, delivered: 5 }))).toMatchObject({ receivedThrough: 3, drained: false });
    expect(progressOf(stream(RetentionPolicy.Limits, 1, 5), restarted)).toMatchObject({ receivedThrough: 40, drained: true });
  });

  it('unsubscribing releases its timer and subscriptions', async () => {
    const p = await provision(admin.nc, uniqueChannel('release'));
    await publishRange(admin.nc, p.names, 1);
    const c = await natsClient(server.url, 'release-probe');
    const base = handleBaseline();
    const before = await server.subscriptionsOf('release-probe');
    const sub = whenChannel(c.nc, c.jsm, p.names, isDrained).subscribe();
    await c.nc.flush();
    expect((await server.subscriptionsOf('release-probe')).filter((s) => s.startsWith('$JS.ACK.'))).toHaveLength(2);
    sub.unsubscribe();
    await c.nc.flush();
    expect(await server.subscriptionsOf('release-probe')).toEqual(before);
    expect(await activeHandles(base)).toEqual([]);
    await c.nc.close();
  });
});
