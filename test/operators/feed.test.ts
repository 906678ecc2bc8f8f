import { describe, expect, it } from 'vitest';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { Exporter, Importer, exportChannel, importChannel, memoryPipe, feed, drain } from '../../src/index.js';

function pair() {
  const exporter = new Exporter();
  const [a, b] = memoryPipe();
  exporter.serveConnection(a);
  const importer = new Importer(b);
  return { exporter, importer, close: async () => { await importer.close(); await exporter.close(); } };
}

describe('feed', () => {
  it('pulls only as fast as the queue has room, and never overflows', async () => {
    const { exporter, importer, close } = pair();
    const ch = exportChannel<number>(exporter, 'n', 'send', { queueLimit: 8 });
    let pulled = 0;
    function* src() { for (let i = 0; i < 200; i++) { pulled++; yield i; } }
    const pauses: number[] = [];
    const fed = lastValueFrom(feed(ch, src(), { complete: true }).pipe(toArray()));
    // Nobody bound yet: exactly the queue's worth was pulled, then feed paused.
    expect(pulled).toBe(8);
    const got = firstValueFrom(importChannel<number>(importer, 'n', 'recv', { size: 4 }).pipe(toArray()));
    expect(await got).toEqual(Array.from({ length: 200 }, (_, i) => i));
    pauses.push(...(await fed));
    expect(pauses.at(-1)).toBe(200);
    expect(ch.dropped).toBe(0);
    await close();
  });

  it('stops pulling on unsubscribe and calls return()', async () => {
    const { exporter, close } = pair();
    const ch = exportChannel<number>(exporter, 'n', 'send', { queueLimit: 4 });
    let returned = false;
    const it: Iterator<number> & Iterable<number> = {
      i: 0,
      next() { return { value: (this as unknown as { i: number }).i++, done: false }; },
      return() { returned = true; return { value: undefined, done: true }; },
      [Symbol.iterator]() { return this; },
    } as never;
    const sub = feed(ch, it).subscribe();
    expect(ch.capacity).toBe(0);
    sub.unsubscribe();
    expect(returned).toBe(true);
    await close();
  });

  it('feeds an async iterable and drains', async () => {
    const { exporter, importer, close } = pair();
    const ch = exportChannel<number>(exporter, 'n', 'send', { queueLimit: 2 });
    async function* src() { for (let i = 0; i < 20; i++) yield i; }
    const got = firstValueFrom(importChannel<number>(importer, 'n', 'recv', { size: 1 }).pipe(toArray()));
    await lastValueFrom(feed(ch, src(), { complete: true }).pipe(drain(ch, { timeout: 2000 })));
    expect(await got).toHaveLength(20);
    await close();
  });
});
