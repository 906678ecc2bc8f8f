import { describe, expect, it } from 'vitest';
import { exportChannel, importChannel } from '../../src/index.js';
import { delay, record } from '../helpers/async.js';
import { openPair, TRANSPORTS } from '../helpers/transports.js';

describe.each(TRANSPORTS)("a value over an importer's maxFrameBytes, over %s", (transport) => {
  it("fails only that import with ETOOBIG; the connection and the value survive", async () => {
    const p = await openPair(transport, { importer: { maxFrameBytes: 1024 } });
    try {
      const ch = exportChannel<string>(p.exporter, 'v', 'send');
      const errors = record(p.importer.errors$);
      const small = record(importChannel<string>(p.importer, 'v', 'recv'));
      ch.next('warm-up');
      await small.count(1); // handshake done: the exporter knows the importer's limit
      ch.next('x'.repeat(2000));
      await small.end();
      expect(small.error).toMatchObject({ code: 'ETOOBIG' });
      expect((small.error as Error).message).toMatch(/channel "v": a value of \d+ bytes \(with header\) > this receiver's maxFrameBytes \(1024\)/);
      expect(errors.values).toEqual([]); // the connection is fine

      // Nothing lost, nothing twice: once the importer's final ACK is in, only the
      // big value is pending, waiting for a receiver that can take it.
      for (let i = 0; i < 500 && ch.pending !== 1; i++) await delay(10);
      expect(ch.pending).toBe(1);
      expect(ch.dispatcher.queued).toBe(1);
      const big = p.connect({ maxFrameBytes: 4096 });
      const got = record(importChannel<string>(big.importer, 'v', 'recv'));
      await got.count(1);
      expect(got.values[0]).toHaveLength(2000);

      // And the first importer's connection still serves new imports.
      const again = record(importChannel<string>(p.importer, 'v', 'recv'));
      ch.next('small');
      await Promise.race([again.count(1), got.count(2)]);
      expect([...again.values, ...got.values.slice(1)]).toEqual(['small']);
    } finally {
      await p.close();
    }
  });
});
