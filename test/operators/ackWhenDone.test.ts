import { describe, expect, it } from 'vitest';
import { firstValueFrom, lastValueFrom, timer, map, toArray } from 'rxjs';
import { Exporter, Importer, exportChannel, importChannel, memoryPipe, ackWhenDone } from '../../src/index.js';

describe('ackWhenDone', () => {
  it('holds the window while a slow async stage works', async () => {
    const exporter = new Exporter();
    const [a, b] = memoryPipe();
    exporter.serveConnection(a);
    const importer = new Importer(b);
    const ch = exportChannel<number>(exporter, 'jobs', 'send');
    for (let i = 0; i < 10; i++) ch.next(i);
    let maxInFlight = 0;
    const results = firstValueFrom(
      importChannel<number>(importer, 'jobs', 'recv', { ack: 'manual', size: 2, count: 10 }).pipe(
        ackWhenDone((v) => {
          maxInFlight = Math.max(maxInFlight, ch.pending - ch.dispatcher.queued);
          return timer(5).pipe(map(() => v * 10));
        }),
        toArray(),
      ),
    );
    expect(await results).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    // Never more than the window out of the exporter's queue, though the stage is slow.
    expect(maxInFlight).toBeLessThanOrEqual(2);
    await lastValueFrom(exporter.drain(1000), { defaultValue: undefined });
    expect(ch.pending).toBe(0);
    await importer.close();
    await exporter.close();
  });
});
