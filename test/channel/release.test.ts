import { describe, expect, it } from 'vitest';
import { firstValueFrom, toArray } from 'rxjs';
import { exportChannel, importChannel } from '../../src/index.js';
import { delay } from '../helpers/async.js';
import { openPair } from '../helpers/transports.js';

/** Bookkeeping that must not grow on a long-lived connection. */
const sizes = (o: object) => {
  const x = o as unknown as { sends?: Set<unknown>; clients?: Array<{ bindings: number }>; session?: { bindings: Map<number, unknown> } };
  const bindings = x.session ? x.session.bindings.size : (x.clients ?? []).reduce((n, c) => n + c.bindings, 0);
  return { sends: x.sends?.size ?? 0, bindings };
};

async function settle(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await delay(10);
}

describe('finished bindings are released (long-lived connections do not grow)', () => {
  it('100 completed recv imports leave no binding on the exporter', async () => {
    const p = await openPair('memory');
    try {
      const ch = exportChannel<number>(p.exporter, 'n', 'send');
      for (let round = 0; round < 100; round++) {
        const got = firstValueFrom(importChannel<number>(p.importer, 'n', 'recv').pipe(toArray()));
        ch.next(round);
        // END with everything already acknowledged: complete() after the value's ACK came back
        await settle(() => ch.pending === 0);
        if (round === 99) ch.complete();
        else await p.importer.hangup('n');
        if (round === 99) expect(await got).toEqual([99]);
      }
      await settle(() => p.exporter.clients[0]!.bindings === 0);
      expect(p.exporter.clients[0]!.bindings).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('100 completed send imports leave nothing behind on either side', async () => {
    const p = await openPair('memory');
    try {
      const inbox = exportChannel<number>(p.exporter, 'in', 'recv', { keepOpen: true });
      const seen: number[] = [];
      inbox.subscribe((v) => seen.push(v));
      for (let i = 0; i < 100; i++) {
        const s = importChannel<number>(p.importer, 'in', 'send');
        s.next(i);
        await settle(() => s.pending === 0);
        s.complete(); // END with nothing unacknowledged
      }
      await settle(() => sizes(p.importer).bindings === 0 && sizes(p.importer).sends === 0 && p.exporter.clients[0]!.bindings === 0);
      expect(seen).toHaveLength(100);
      expect(sizes(p.importer)).toEqual({ sends: 0, bindings: 0 });
      expect(p.exporter.clients[0]!.bindings).toBe(0);
    } finally {
      await p.close();
    }
  });
});
