import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { firstValueFrom, take, toArray } from 'rxjs';
import { Exporter, Importer, exportChannel, importChannel } from '../../src/index.js';
import '../../src/node.js';
import { activeHandles, handleBaseline } from '../helpers/leaks.js';
import { within } from '../helpers/async.js';

describe('what a hostile peer can make an exporter hold, over TCP', () => {
  it('200 connections that send a 16 MiB length prefix and one byte reserve almost nothing (finding 6: 3.2 GB before)', async () => {
    const base = handleBaseline();
    const exporter = new Exporter();
    exporter.errors$.subscribe(() => {});
    const { url } = await exporter.listen('tcp://127.0.0.1:0');
    const port = Number(new URL(url).port);
    const before = process.memoryUsage().arrayBuffers;
    const sockets: Socket[] = [];
    for (let i = 0; i < 200; i++) {
      const s = connect(port, '127.0.0.1');
      s.on('error', () => {});
      s.write(Uint8Array.of(0x01, 0x00, 0x00, 0x00, 0x91));
      sockets.push(s);
    }
    const received = () => exporter.clients.reduce((n, c) => n + c.stats.bytesIn, 0);
    for (let i = 0; i < 500 && received() < 200 * 5; i++) await new Promise((r) => setTimeout(r, 10));
    expect(received()).toBe(200 * 5);
    // Each connection's own buffers (encoder, writer) are part of this; the frames' share is 16 KiB each at most.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
    for (const s of sockets) s.destroy();
    await exporter.close();
    expect(await activeHandles(base)).toEqual([]);
  });


  it('1-byte Uint8Array values that arrived in 64 KiB reads next to other traffic each keep only a few bytes alive (finding 3: 227 MB for 4,000 before)', async () => {
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
