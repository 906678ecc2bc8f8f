import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTICS_CHANNEL_NAMES, exportChannel, importChannel, type Logger, type NetchanError } from '../../src/index.js';
import '../../src/node.js';
import { completion, record, range, within } from '../helpers/async.js';
import { openPair } from '../helpers/transports.js';

/** A pino-shaped logger that keeps every line, with its child bindings merged in. */
function memoryLogger(lines: Array<{ level: string; msg: string } & Record<string, unknown>>, bound: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void lines.push({ level, msg, ...bound, ...fields });
  return { child: (b) => memoryLogger(lines, { ...bound, ...b }), error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

describe.each(['tcp', 'ws'] as const)('metrics over %s', (transport) => {
  it('exporter.metrics(): per channel and per connection, values and bytes in and out, acknowledged, in flight, queued, windows, RTT', async () => {
    const p = await openPair(transport);
    try {
      const jobs = exportChannel<string>(p.exporter, 'jobs', 'send');
      const results = record(exportChannel<number>(p.exporter, 'results', 'recv'));
      const got = record(importChannel<string>(p.importer, 'jobs', 'recv', { size: 8 }));
      const up = importChannel<number>(p.importer, 'results', 'send', { size: 4 });
      for (let i = 0; i < 20; i++) jobs.next('x'.repeat(10)); // 11 bytes each in MessagePack
      for (const i of range(6)) up.next(i);
      await got.count(20);
      await results.count(6);
      await completion(p.exporter.drain(5_000));
      await completion(p.importer.drain(5_000));
      // metrics() sends a PING: the answer sets the round-trip time.
      await within(
        new Promise<void>((r) => {
          const t = setInterval(() => p.exporter.metrics().clients[0]?.rtt != null && (clearInterval(t), r()), 5);
        }),
        5_000,
        'an RTT',
      );
      const m = p.exporter.metrics();
      const ch = Object.fromEntries(m.channels.map((c) => [c.name, c]));
      expect(ch['jobs']).toMatchObject({ dir: 'send', bindings: 1, window: 8, valuesOut: 20, bytesOut: 220, acked: 20, inFlight: 0, queued: 0, errors: 0 });
      expect(ch['results']).toMatchObject({ dir: 'recv', bindings: 1, window: 4, valuesIn: 6, bytesIn: 6, acked: 6, inFlight: 0, queued: 0 });
      expect(m.clients).toHaveLength(1);
      const c = m.clients[0]!;
      expect(c.state).toBe('open');
      expect(c.stats).toMatchObject({ valuesOut: 20, valueBytesOut: 220, valuesIn: 6, acked: 20, inFlight: 0, errors: 0 });
      expect(c.stats.framesIn).toBeGreaterThan(0);
      expect(c.rtt).toBeGreaterThanOrEqual(0);
      expect(c.bindingStats.map((b) => `${b.channel}:${b.dir}:${b.window}:${b.values}`).sort()).toEqual(['jobs:send:8:20', 'results:recv:4:6']);
      // The importer's side of the same traffic.
      const im = p.importer.metrics();
      const ich = Object.fromEntries(im.channels.map((c) => [`${c.name}:${c.dir}`, c]));
      expect(ich['jobs:recv']).toMatchObject({ valuesIn: 20, bytesIn: 220, acked: 20, bindings: 1, window: 8 });
      expect(ich['results:send']).toMatchObject({ valuesOut: 6, acked: 6, inFlight: 0, bindings: 1, window: 4 });
      expect(im.connection).toMatchObject({ valuesIn: 20, valuesOut: 6, acked: 6 });
      expect(im.state).toBe('open');
    } finally {
      await p.close();
    }
  });

  it('a pino-shaped logger: a child per client, connections and refusals at info/warn, bindings at debug', async () => {
    const lines: Array<{ level: string; msg: string } & Record<string, unknown>> = [];
    const p = await openPair(transport, { exporter: { logger: memoryLogger(lines) } });
    try {
      exportChannel<number>(p.exporter, 'jobs', 'send');
      const a = record(importChannel<number>(p.importer, 'jobs', 'recv'));
      const nope = record(importChannel<number>(p.importer, 'nope', 'recv'));
      await nope.end();
      await within(p.exporter.disconnect(1_000), 5_000, 'disconnect');
      await a.end();
      const id = lines.find((l) => l.msg === 'client connected')!['client'];
      expect(typeof id).toBe('string');
      const mine = lines.filter((l) => l['client'] === id).map((l) => `${l.level} ${l.msg}`);
      expect(mine).toEqual(
        expect.arrayContaining(['debug connection accepted', 'info client connected', 'debug binding opened', 'warn binding refused', 'info disconnecting', 'debug binding closed', 'info client gone']),
      );
      const refused = lines.find((l) => l.msg === 'binding refused')!;
      expect(refused).toMatchObject({ channel: 'nope', code: 'ENOCHAN', remote: expect.stringMatching(/127\.0\.0\.1/) });
    } finally {
      await p.close();
    }
  });

  it('diagnostics_channel: connections and bindings, published only to subscribers', async () => {
    const events: string[] = [];
    const handlers = Object.entries(DIAGNOSTICS_CHANNEL_NAMES).map(([key, name]) => {
      const fn = (msg: unknown) => {
        const m = msg as Record<string, unknown>;
        events.push(`${key} ${String(m['endpoint'] ?? m['channel'])}${m['code'] ? ` ${String(m['code'])}` : ''}`);
      };
      subscribe(name, fn);
      return () => unsubscribe(name, fn);
    });
    const p = await openPair(transport);
    try {
      exportChannel<number>(p.exporter, 'jobs', 'send');
      const a = record(importChannel<number>(p.importer, 'jobs', 'recv'));
      const nope = record(importChannel<number>(p.importer, 'nope', 'recv'));
      await nope.end();
      a.unsubscribe();
      await within(p.importer.close(), 5_000, 'close');
      await within(
        new Promise<void>((r) => {
          const t = setInterval(() => events.filter((e) => e.startsWith('connectionClose')).length === 2 && (clearInterval(t), r()), 5);
        }),
        5_000,
        'both closes',
      );
      expect(events).toEqual(
        expect.arrayContaining([
          'connectionOpen exporter',
          'connectionOpen importer',
          'bindingOpen jobs',
          'bindingRefuse nope ENOCHAN',
          'bindingClose jobs',
          'connectionClose exporter',
          'connectionClose importer',
        ]),
      );
    } finally {
      for (const off of handlers) off();
      await p.close();
    }
  });

  it('queries: listChannels() is filtered by authorize; fetchMetrics() only when remoteMetrics is on and authorize allows $metrics', async () => {
    const p = await openPair(transport, {
      exporter: { remoteMetrics: true, authorize: (c, name) => name !== 'hidden' && (name !== '$metrics' || c.identity === 'ops'), authenticate: (a) => a as string },
      importer: { auth: 'ops' },
    });
    try {
      exportChannel<number>(p.exporter, 'jobs', 'send');
      exportChannel<number>(p.exporter, 'results', 'recv');
      exportChannel<number>(p.exporter, 'hidden', 'send');
      expect((await p.importer.listChannels()).sort((a, b) => a.name.localeCompare(b.name))).toEqual([
        { name: 'jobs', dir: 'send' },
        { name: 'results', dir: 'recv' },
      ]);
      const m = await p.importer.fetchMetrics();
      expect(m.clients).toHaveLength(1);
      expect(m.clients[0]!.identity).toBe('ops');
      expect(m.channels.map((c) => c.name).sort()).toEqual(['hidden', 'jobs', 'results']);
      const other = p.connect({ auth: 'guest' }).importer;
      await expect(other.fetchMetrics()).rejects.toMatchObject({ code: 'EAUTH' });
      expect(other.state).toBe('open'); // a refused query does not cost the connection
    } finally {
      await p.close();
    }
    const q = await openPair(transport, { exporter: { listChannels: false } });
    try {
      await expect(q.importer.listChannels()).rejects.toMatchObject({ code: 'EAUTH', message: expect.stringMatching(/listChannels: false/) });
      await expect(q.importer.fetchMetrics()).rejects.toMatchObject({ code: 'EAUTH', message: expect.stringMatching(/remoteMetrics: false/) });
    } finally {
      await q.close();
    }
  });

  it('handshakeTimeout also bounds an authenticate that does not answer', async () => {
    const p = await openPair(transport, { exporter: { handshakeTimeout: 100, authenticate: () => new Promise(() => {}) } });
    try {
      const errors = record(p.exporter.errors$);
      await errors.until(() => errors.values.some((e) => e.code === 'ETIMEDOUT'));
      expect((errors.values.find((e) => e.code === 'ETIMEDOUT') as NetchanError).message).toMatch(/authenticate still pending/);
      await within(
        new Promise<void>((r) => {
          const t = setInterval(() => p.importer.closed && (clearInterval(t), r()), 5);
        }),
        5_000,
        'importer closed',
      );
    } finally {
      await p.close();
    }
  });
});
