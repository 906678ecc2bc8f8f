import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, stopAllNatsServers, type NatsServer } from '../helpers/natsServer.js';
import { closeAllClients, natsClient, type NatsClient } from '../helpers/natsClients.js';
import { PullerProbe, payloadOf, provision, uniqueChannel } from '../helpers/natsChannel.js';
import { TcpProxy } from '../helpers/tcpProxy.js';
import { within } from '../helpers/async.js';
import { activeHandles, handleBaseline } from '../helpers/leaks.js';
import { JetStreamPublisher, type PublisherEvents } from '../../src/nats/JetStreamPublisher.js';
import { channelNames, type ChannelNames } from '../../src/nats/channelNames.js';
import type { NetchanError } from '../../src/errors/NetchanError.js';
import type { NatsConnection } from '@nats-io/transport-node';

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

/** A publisher that records its events; `until()` re-checks after each one. */
class PubProbe {
  acks: number[] = [];
  failures: Array<{ seq: number; error: NetchanError; maybeStored: boolean }> = [];
  readonly pub: JetStreamPublisher;
  private waiters: Array<() => void> = [];

  constructor(nc: NatsConnection, names: ChannelNames, config: { maxOutstanding?: number; timeout?: number; duplicateWindow?: number } = {}) {
    const events: PublisherEvents = {
      acked: (n) => (this.acks.push(n), this.poke()),
      failed: (seq, _p, error, maybeStored) => (this.failures.push({ seq, error, maybeStored }), this.poke()),
    };
    this.pub = new JetStreamPublisher(
      nc,
      { channel: names.channel, subject: names.subject, stream: names.stream, maxOutstanding: 8, timeout: 2_000, duplicateWindow: 120_000, ...config },
      events,
    );
  }

  until(pred: () => boolean, ms = 8_000, what = 'condition'): Promise<void> {
    if (pred()) return Promise.resolve();
    return within(
      new Promise<void>((resolve) => {
        const check = () => pred() && (this.waiters = this.waiters.filter((w) => w !== check), resolve());
        this.waiters.push(check);
      }),
      ms,
      what,
    );
  }

  private poke(): void {
    for (const w of [...this.waiters]) w();
  }
}

async function streamMessages(names: ChannelNames): Promise<number> {
  return (await admin.jsm.streams.info(names.stream)).state.messages;
}

describe('JetStreamPublisher', () => {
  it('never has more than maxOutstanding publishes awaiting their PubAck, and acknowledges cumulatively', async () => {
    const base = handleBaseline();
    const p = await provision(admin.nc, uniqueChannel('credit'));
    const c = await natsClient(server.url);
    const probe = new PubProbe(c.nc, p.names, { maxOutstanding: 4 });
    const { pub } = probe;
    expect(pub.credit).toBe(4);
    for (let i = 0; i < 4; i++) pub.send(payloadOf(i));
    expect(pub.credit).toBe(0);
    expect(() => pub.send(payloadOf(99))).toThrow(expect.objectContaining({ code: 'EOVERFLOW' }));
    let next = 4;
    await probe.until(() => {
      while (next < 100 && pub.credit > 0) pub.send(payloadOf(next++));
      expect(pub.unacked).toBeLessThanOrEqual(4);
      return pub.acked === 100;
    });
    // Cumulative and increasing, ending at the last value.
    expect(probe.acks).toEqual([...probe.acks].sort((a, b) => a - b));
    expect(probe.acks.at(-1)).toBe(100);
    expect(await streamMessages(p.names)).toBe(100);
    expect(pub.lastStreamSeq).toBe(100);
    expect(pub.duplicates).toBe(0);
    await pub.idle();
    pub.close();
    await c.nc.close();
    expect(await activeHandles(base)).toEqual([]);
  });

  it('publishes again after a reconnect whatever lost its PubAck, and the stream stores each value once', async () => {
    const p = await provision(admin.nc, uniqueChannel('dedup'));
    const proxy = await TcpProxy.start(server.ports.client);
    const c = await natsClient(proxy.url, 'behind-proxy');
    const probe = new PubProbe(c.nc, p.names, { maxOutstanding: 32, timeout: 10_000 });
    // The server stores the values, but every PubAck is lost on the way back.
    proxy.dropDownstream = true;
    for (let i = 0; i < 20; i++) probe.pub.send(payloadOf(i));
    await within(
      (async () => {
        while ((await streamMessages(p.names)) < 20) await new Promise((r) => setTimeout(r, 20));
      })(),
      5_000,
      'the server to store 20 values',
    );
    expect(probe.pub.acked).toBe(0);
    // The link resets; the client reconnects through the proxy and the publisher sends all 20 again.
    proxy.dropDownstream = false;
    proxy.cut();
    await probe.until(() => probe.pub.acked === 20, 8_000, 'all 20 acknowledged');
    expect(proxy.accepted).toBe(2);
    expect(probe.pub.duplicates).toBe(20); // every retry recognised by Nats-Msg-Id
    expect(probe.failures).toEqual([]);
    expect(await streamMessages(p.names)).toBe(20);
    probe.pub.close();
    await c.nc.close();
    await proxy.close();
  });

  it('waits on a full stream (maxMsgs, discard new) until receivers take values, losing none', async () => {
    const p = await provision(admin.nc, uniqueChannel('full'), { maxMsgs: 5 });
    const c = await natsClient(server.url);
    const probe = new PubProbe(c.nc, p.names, { maxOutstanding: 10, timeout: 1_000 });
    for (let i = 0; i < 10; i++) probe.pub.send(payloadOf(i));
    await probe.until(() => probe.pub.acked >= 5, 5_000, '5 stored');
    expect(await streamMessages(p.names)).toBe(5);
    expect(probe.pub.unacked).toBeGreaterThan(0); // the rest is being retried, not dropped
    const r = await natsClient(server.url);
    const reader = new PullerProbe(r.nc, r.jsm, p, { window: 2 });
    await reader.count(10, 8_000);
    expect([...reader.values].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(probe.failures).toEqual([]);
    await reader.puller.stop();
    probe.pub.close();
  });

  it('gives up within the duplicate window, with ETIMEDOUT, rather than risk storing a value twice', async () => {
    // No stream listens on this subject: every attempt gets "no responders", a retryable failure.
    const names = channelNames('netchan', uniqueChannel('nostream'));
    const c = await natsClient(server.url);
    const probe = new PubProbe(c.nc, names, { timeout: 200, duplicateWindow: 1_000 });
    const started = Date.now();
    probe.pub.send(payloadOf(1));
    await probe.until(() => probe.failures.length === 1, 5_000, 'the failure');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(probe.failures[0]).toMatchObject({ seq: 1, maybeStored: true, error: { code: 'ETIMEDOUT', message: expect.stringContaining('duplicate window') } });
    expect(probe.acks).toEqual([1]); // settled (as failed), so the cumulative count moves on
    probe.pub.close();
  });

  it('reports a value the server cannot take (over max_payload) as ETOOBIG, and goes on with the next', async () => {
    const p = await provision(admin.nc, uniqueChannel('big'));
    const c = await natsClient(server.url);
    const probe = new PubProbe(c.nc, p.names);
    probe.pub.send(new Uint8Array(2 * 1024 * 1024));
    probe.pub.send(payloadOf(2));
    await probe.until(() => probe.pub.acked === 2);
    expect(probe.failures).toMatchObject([{ seq: 1, maybeStored: false, error: { code: 'ETOOBIG' } }]);
    expect(await streamMessages(p.names)).toBe(1);
    probe.pub.close();
  });

  it('close() reports what is still outstanding as ECLOSED and refuses more', async () => {
    const names = channelNames('netchan', uniqueChannel('closed'));
    const c = await natsClient(server.url);
    const probe = new PubProbe(c.nc, names, { timeout: 200 });
    probe.pub.send(payloadOf(1));
    probe.pub.close();
    expect(probe.failures).toMatchObject([{ seq: 1, maybeStored: true, error: { code: 'ECLOSED' } }]);
    expect(probe.pub.credit).toBe(0);
    expect(() => probe.pub.send(payloadOf(2))).toThrow(expect.objectContaining({ code: 'ECLOSED' }));
    await probe.pub.idle();
  });
});
