// What an exported 'recv' channel holds for a subscriber that has not come yet
// is bounded for the whole endpoint, and let go when its sender's session ends:
// unacknowledged, those values are still the sender's to send again.
import { describe, expect, it } from 'vitest';
import { exportChannel, importChannel, drain, type Importer } from '../../src/index.js';
import { failure, record } from '../helpers/async.js';
import { openPair } from '../helpers/transports.js';

const heldBytes = (exporter: object): number => (exporter as { forChannels: { budget: { used: number } } }).forChannels.budget.used;

describe('values held for a subscriber', () => {
  it('40 connections × 1,000 values held, then the connections are cut: everything they held is let go', async () => {
    const p = await openPair('tcp');
    try {
      const sink = exportChannel<number>(p.exporter, 'sink', 'recv', { keepOpen: true }); // nobody subscribes (yet)
      const links = Array.from({ length: 40 }, () => p.connect());
      const sends = links.map((l) => importChannel<number>(l.importer, 'sink', 'send', { size: 1_000 }));
      sends.forEach((s) => {
        for (let i = 0; i < 1_000; i++) s.next(i);
      });
      for (let i = 0; i < 500 && heldBytes(p.exporter) < 40_000; i++) await new Promise((r) => setTimeout(r, 10));
      expect(heldBytes(p.exporter)).toBeGreaterThanOrEqual(40_000); // each value is at least one byte
      const drains = links.map((l) => failure(l.importer.drain()));
      for (const l of links) l.cut();
      await Promise.all(drains); // the senders learn their values were never acknowledged
      for (let i = 0; i < 500 && heldBytes(p.exporter) > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(heldBytes(p.exporter)).toBe(0);
      // A subscriber that comes now gets nothing stale.
      const late = record(sink);
      const fresh = importChannel<number>(p.importer, 'sink', 'send');
      fresh.next(42);
      await late.count(1);
      expect(late.values).toEqual([42]);
    } finally {
      await p.close();
    }
  });

  it("past maxHeldBytes the sending binding fails with 'EOVERFLOW' and the sender keeps every value", async () => {
    const p = await openPair('tcp', { exporter: { maxHeldBytes: 10_000 } });
    try {
      const sink = exportChannel<Uint8Array>(p.exporter, 'sink', 'recv', { keepOpen: true });
      const errors = record(p.exporter.errors$);
      const importer: Importer = p.importer;
      const send = importChannel<Uint8Array>(importer, 'sink', 'send', { size: 100 });
      for (let i = 0; i < 100; i++) send.next(new Uint8Array(1_000).fill(i));
      const err = (await failure(send.pipe(drain(send)))) as { code: string; message: string };
      expect(err.code).toBe('EOVERFLOW');
      expect(err.message).toMatch(/channel "sink": the receiver holds too many bytes/);
      expect(send.pending).toBe(100); // nothing was acknowledged: nothing lost
      await errors.count(1);
      expect(errors.values[0]!.code).toBe('EOVERFLOW');
      expect(heldBytes(p.exporter)).toBe(0); // what the refused binding had sent is let go
      expect(() => send.next(new Uint8Array(1))).toThrow(/holds too many bytes/);
      const late = record(sink);
      expect(late.values).toEqual([]);
    } finally {
      await p.close();
    }
  });
});
