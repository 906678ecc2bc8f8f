import { describe, expect, expectTypeOf, it } from 'vitest';
import type { StandardSchemaV1 as SpecSchema } from '@standard-schema/spec';
import type { Observable } from 'rxjs';
import {
  channelPair,
  exportChannel,
  importChannel,
  type Delivery,
  type InvalidValueError,
  type StandardSchemaV1,
} from '../../src/index.js';
import { completion, record, range, within } from '../helpers/async.js';
import { openPair } from '../helpers/transports.js';

interface Job {
  id: number;
  name: string;
}

/** A hand-written Standard Schema (what Zod, Valibot and ArkType implement): `{ id: number, name: string }`, trimmed. */
const job: StandardSchemaV1<unknown, Job> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(v) {
      if (typeof v !== 'object' || v === null) return { issues: [{ message: 'expected an object' }] };
      const o = v as Record<string, unknown>;
      if (typeof o['id'] !== 'number') return { issues: [{ message: 'expected a number', path: ['id'] }] };
      if (typeof o['name'] !== 'string') return { issues: [{ message: 'expected a string', path: [{ key: 'name' }] }] };
      return { value: { id: o['id'], name: o['name'].trim() } };
    },
  },
};

/** The same check, answered later: each validation waits for `release(n)` (or a random few ms with `auto`). */
function slowSchema(auto = false) {
  const waiting: Array<() => void> = [];
  let calls = 0;
  const schema: StandardSchemaV1<unknown, Job> = {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate(v) {
        calls++;
        const r = job['~standard'].validate(v) as StandardSchemaV1.Result<Job>;
        return new Promise((resolve) => {
          if (auto) setTimeout(() => resolve(r), Math.floor(Math.random() * 5));
          else waiting.push(() => resolve(r));
        });
      },
    },
  };
  return { schema, calls: () => calls, release: (i: number) => waiting[i]!() };
}

const ok = (id: number): Job => ({ id, name: ` job ${id} ` });

describe('schema: types', () => {
  it('the channel type is the schema output; @standard-schema/spec schemas fit', () => {
    expectTypeOf<SpecSchema<unknown, Job>>().toMatchTypeOf<StandardSchemaV1<unknown, Job>>();
    const p = null as unknown as Parameters<typeof importChannel>[0];
    if (p !== null) {
      expectTypeOf(importChannel(p, 'jobs', 'recv', { schema: job })).toEqualTypeOf<Observable<Job>>();
      expectTypeOf(importChannel(p, 'jobs', 'recv', { schema: job, ack: 'manual' })).toEqualTypeOf<Observable<Delivery<Job>>>();
      expectTypeOf(importChannel<number>(p, 'jobs', 'recv', { size: 2 })).toEqualTypeOf<Observable<number>>();
    }
    const [recv] = channelPair({ schema: job });
    expectTypeOf(recv).toEqualTypeOf<Observable<Job>>();
  });
});

describe.each(['tcp', 'ws'] as const)('schema over %s', (transport) => {
  it("a 'recv' import: an invalid value errors it with EINVAL (channel, path, value), is acknowledged and never comes back; the values after it go to the next receiver", async () => {
    const p = await openPair(transport);
    try {
      const jobs = exportChannel<unknown>(p.exporter, 'jobs', 'send');
      const a = record(importChannel(p.importer, 'jobs', 'recv', { schema: job, size: 10 }));
      const bad = { id: 'three', name: 'x' };
      for (const v of [ok(1), ok(2), bad, ok(4), ok(5)]) jobs.next(v);
      await a.end();
      expect(a.values).toEqual([
        { id: 1, name: 'job 1' },
        { id: 2, name: 'job 2' },
      ]);
      const err = a.error as InvalidValueError;
      expect(err.code).toBe('EINVAL');
      expect(err.message).toBe('channel "jobs": value.id: expected a number');
      expect(err.value).toEqual(bad);
      expect(err.issues[0]!.path).toEqual(['id']);
      // A second importer takes the rest: 4 and 5, never the invalid value.
      const b = record(importChannel<Job>(p.importer, 'jobs', 'recv'));
      await b.count(2);
      jobs.complete();
      await b.end();
      expect(b.values).toEqual([ok(4), ok(5)]);
      await completion(p.exporter.drain(5_000));
      const m = p.exporter.metrics().channels.find((c) => c.name === 'jobs')!;
      expect(m.acked).toBe(5);
    } finally {
      await p.close();
    }
  });

  it('manual acknowledgement: the invalid value is acknowledged with the deliveries before it', async () => {
    const p = await openPair(transport);
    try {
      const jobs = exportChannel<unknown>(p.exporter, 'jobs', 'send');
      const a = record(importChannel(p.importer, 'jobs', 'recv', { schema: job, ack: 'manual', size: 10 }));
      for (const v of [ok(1), ok(2), 'nope', ok(4)]) jobs.next(v);
      await a.end();
      expect(a.values.map((d) => d.value.id)).toEqual([1, 2]);
      expect((a.error as InvalidValueError).message).toBe('channel "jobs": value: expected an object');
      const b = record(importChannel<Job>(p.importer, 'jobs', 'recv'));
      await b.count(1);
      expect(b.values).toEqual([ok(4)]);
    } finally {
      await p.close();
    }
  });

  it('an async validator: values keep their order, and window credit returns only once each is validated', async () => {
    const p = await openPair(transport, { exporter: { remoteMetrics: true } });
    try {
      const jobs = exportChannel<unknown>(p.exporter, 'jobs', 'send');
      const slow = slowSchema();
      const a = record(importChannel(p.importer, 'jobs', 'recv', { schema: slow.schema, size: 2 }));
      for (const i of range(5, 1)) jobs.next(ok(i));
      await within(
        new Promise<void>((r) => {
          const t = setInterval(() => slow.calls() === 2 && (clearInterval(t), r()), 5);
        }),
        5_000,
        'two validations',
      );
      await within(p.importer.fetchMetrics(), 5_000, 'a round trip'); // any early ACK would have arrived by now
      const before = p.exporter.metrics().channels.find((c) => c.name === 'jobs')!;
      expect({ inFlight: before.inFlight, queued: before.queued, acked: before.acked }).toEqual({ inFlight: 2, queued: 3, acked: 0 });
      expect(a.values).toEqual([]);
      slow.release(1); // the second finishes first: it still waits for the first
      await within(p.importer.fetchMetrics(), 5_000, 'a round trip');
      expect(a.values).toEqual([]);
      slow.release(0);
      await a.count(2);
      expect(a.values.map((j) => j.id)).toEqual([1, 2]);
      for (let i = 2; i < 5; i++) {
        await within(
          new Promise<void>((r) => {
            const t = setInterval(() => slow.calls() > i && (clearInterval(t), r()), 5);
          }),
          5_000,
          `validation ${i + 1}`,
        );
        slow.release(i);
      }
      await a.count(5);
      expect(a.values.map((j) => j.id)).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await p.close();
    }
  });

  it('random async validation times: 300 values arrive in order, an invalid one stops the import once', async () => {
    const p = await openPair(transport);
    try {
      const jobs = exportChannel<unknown>(p.exporter, 'jobs', 'send');
      const a = record(importChannel(p.importer, 'jobs', 'recv', { schema: slowSchema(true).schema, size: 16 }));
      for (const i of range(300)) jobs.next(i === 250 ? { id: i } : ok(i));
      await a.end(10_000);
      expect(a.values.map((j) => j.id)).toEqual(range(250));
      expect((a.error as InvalidValueError).message).toBe('channel "jobs": value.name: expected a string');
      const b = record(importChannel<Job>(p.importer, 'jobs', 'recv'));
      await b.count(49);
      expect(b.values.map((j) => j.id)).toEqual(range(49, 251));
    } finally {
      await p.close();
    }
  });

  it("a 'recv' export: the sender's binding fails with EINVAL (its send channel errors, the value is acknowledged); the channel errors, or with keepOpen reports and goes on", async () => {
    const p = await openPair(transport);
    try {
      const strict = record(exportChannel(p.exporter, 'strict', 'recv', { schema: job }));
      const open = record(exportChannel(p.exporter, 'open', 'recv', { schema: job, keepOpen: true }));
      const errors = record(p.exporter.errors$);
      const s1 = importChannel<unknown>(p.importer, 'strict', 'send');
      const s1End = record(s1);
      for (const v of [ok(1), 42, ok(3)]) s1.next(v);
      await strict.end();
      expect(strict.values).toEqual([{ id: 1, name: 'job 1' }]);
      expect((strict.error as InvalidValueError).value).toBe(42);
      await s1End.end();
      expect((s1End.error as InvalidValueError).code).toBe('EINVAL');
      expect((s1End.error as Error).message).toBe('channel "strict": value: expected an object');
      expect(s1.pending).toBe(1); // 1 and 42 acknowledged; 3 stays with the sender
      const s2 = importChannel<unknown>(p.importer, 'open', 'send');
      const s3 = importChannel<unknown>(p.importer, 'open', 'send');
      s2.next({ id: 'x' });
      s3.next(ok(7));
      await open.count(1);
      await errors.until(() => errors.values.some((e) => e.code === 'EINVAL'));
      s3.next(ok(8));
      await open.count(2);
      expect(open.values.map((j) => j.id)).toEqual([7, 8]);
      expect(open.ended).toBe(false);
    } finally {
      await p.close();
    }
  });
});

describe('schema on a channel pair', () => {
  it('the receiving end checks where the pair was made: EINVAL after the values before it', async () => {
    const [recv, send] = channelPair({ schema: job });
    const got = record(recv);
    send.next(ok(1));
    send.next({ id: 2 });
    await got.end();
    expect(got.values).toEqual([{ id: 1, name: 'job 1' }]);
    expect((got.error as InvalidValueError).message).toMatch(/^channel "pair \d+": value\.name: expected a string$/);
    expect(() => send.next(ok(3))).toThrow();
  });
});
