import { describe, expect, it } from 'vitest';
import { firstValueFrom, take, toArray } from 'rxjs';
import { Exporter, Importer, exportChannel, importChannel } from '../../src/index.js';
import '../../src/node.js';
import { activeHandles, handleBaseline } from '../helpers/leaks.js';
import { within } from '../helpers/async.js';

describe('held values over TCP (issue 8, finding 3: a small value must not pin its socket read)', () => {
  it('1-byte Uint8Array values that arrived in 64 KiB reads next to other traffic each keep only a few bytes alive', async () => {
    const base = handleBaseline();
    const exporter = new Exporter();
    const { url } = await exporter.listen('tcp://127.0.0.1:0');
    const bytes = exportChannel<Uint8Array>(exporter, 'bytes', 'send');
    const filler = exportChannel<string>(exporter, 'filler', 'send');
    const importer = Importer.connect(url);
    const big = 'z'.repeat(56 * 1024);
    const n = 500;
    const sub = importChannel<string>(importer, 'filler', 'recv', { size: 4096 }).subscribe();
    const got = firstValueFrom(importChannel<Uint8Array>(importer, 'bytes', 'recv', { size: 4096 }).pipe(take(n), toArray()));
    for (let i = 0; i < n; i++) {
      // Each small value shares a socket read with a large one (before: it kept that read, ~57 KB, alive).
      bytes.next(Uint8Array.of(i & 0xff));
      filler.next(big);
      await new Promise((r) => setImmediate(r));
    }
    const values = await within(got, 10_000, 'the values');
    expect(values.map((v) => v[0])).toEqual(Array.from({ length: n }, (_, i) => i & 0xff));
    const perValue = Math.max(...values.map((v) => v.buffer.byteLength));
    expect(perValue).toBeLessThanOrEqual(16);
    let held = 0;
    for (const b of new Set(values.map((v) => v.buffer))) held += b.byteLength;
    expect(held).toBeLessThan(64 * 1024); // before: ~28 MB for these 500
    sub.unsubscribe();
    await importer.close();
    await exporter.close();
    expect(await activeHandles(base)).toEqual([]);
  });
});
