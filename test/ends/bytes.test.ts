// Byte streams through channel ends: a Node Readable, a web ReadableStream or
// an async iterable streamed with window backpressure (read only as fast as
// the receiver acknowledges), and turned back into a Readable / ReadableStream.
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { channelPair, exportChannel, importChannel, streamBytes, toReadableStream, type Delivery, type SendChannel } from '../../src/index.js';
import { toReadable } from '../../src/node.js';
import { openPair, type TransportPair } from '../helpers/transports.js';

import type { Observable } from 'rxjs';

/** An upload: the server reads `data`, an Observable end that travelled with the request. */
type Upload = { name: string; data: Observable<Delivery<Uint8Array>> };

describe('byte streams through channel ends (TCP)', () => {
  let p: TransportPair;
  afterEach(async () => {
    await p.close();
  });

  it('streams 8 MiB from a Node Readable, read only as fast as the receiver acknowledges, into a ReadableStream, intact', async () => {
    p = await openPair('tcp');
    const chunk = 64 * 1024;
    const total = 128;
    let read = 0;
    let maxAhead = 0;
    let acked = 0;
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < total; i++) {
          read++;
          maxAhead = Math.max(maxAhead, read - acked);
          yield new Uint8Array(chunk).fill(i % 251);
        }
      })(),
    );
    // The server receives uploads: each carries the end to stream into.
    const uploads = exportChannel<Upload>(p.exporter, 'uploads', 'recv', { keepOpen: true });
    let got: Promise<Uint8Array[]> | undefined;
    uploads.subscribe((u) => {
      got = (async () => {
        const parts: Uint8Array[] = [];
        const reader = toReadableStream(u.data).getReader();
        for (;;) {
          const r = await reader.read();
          if (r.done) return parts;
          parts.push(r.value);
          acked++;
          if (acked % 16 === 0) await new Promise((res) => setTimeout(res, 2)); // a slow disk
        }
      })();
    });
    // The client keeps the sending end; the receiving end (manual acks: the reader's pace) travels.
    const out = importChannel<Upload>(p.importer, 'uploads', 'send');
    const [recvEnd, sendEnd] = channelPair<Uint8Array>({ ack: 'manual', size: 8 });
    out.next({ name: 'blob', data: recvEnd });
    const sent = await new Promise<number>((resolve, reject) => {
      let last = 0;
      streamBytes(sendEnd, source, { highWater: 8 }).subscribe({ next: (n) => (last = n), error: reject, complete: () => resolve(last) });
    });
    expect(sent).toBe(chunk * total);
    for (let i = 0; i < 200 && !got; i++) await new Promise((r) => setTimeout(r, 5));
    const parts = await got!;
    const all = Buffer.concat(parts);
    expect(all.length).toBe(chunk * total);
    for (let i = 0; i < total; i++) expect(all[i * chunk]).toBe(i % 251);
    // Backpressure: the source never ran far ahead of what the receiver had taken.
    expect(maxAhead).toBeLessThanOrEqual(8 /* highWater */ + 8 /* window */ + 4 /* stream buffer */ + 2);
  });

  it('toReadable(): a received end piped into a Node Writable', async () => {
    p = await openPair('tcp');
    const files = exportChannel<{ data: SendChannel<Uint8Array> }>(p.exporter, 'files', 'recv', { keepOpen: true });
    files.subscribe(({ data }) => {
      streamBytes(data, Readable.from([new TextEncoder().encode('hello '), new TextEncoder().encode('world')])).subscribe();
    });
    const req = importChannel<{ data: SendChannel<Uint8Array> }>(p.importer, 'files', 'send');
    const [bytes, end] = channelPair<Uint8Array>({ ack: 'manual' });
    req.next({ data: end });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => toReadable(bytes).on('data', (c: Buffer) => chunks.push(c)).on('end', resolve).on('error', reject));
    expect(Buffer.concat(chunks).toString()).toBe('hello world');
  });
});
