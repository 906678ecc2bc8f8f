// A peer that stops reading cannot make an endpoint buffer without bound: once
// the socket's send buffer is over its high-water mark the link stops writing
// values and acknowledgements (and answers no PING), and after writeTimeout
// the peer is dropped with 'ETIMEDOUT'; its values go back to the queue.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { Exporter, exportChannel, feed, importChannel, type NetchanError } from '../../src/index.js';
import '../../src/node.js';
import { record, range } from '../helpers/async.js';
import { handleBaseline } from '../helpers/leaks.js';
import { RawPeer, T } from '../helpers/rawPeer.js';
import { settledHandles } from '../helpers/transports.js';
import { Importer } from '../../src/index.js';

describe('a peer that stops reading', () => {
  it("is dropped after writeTimeout with 'ETIMEDOUT'; the exporter never buffers much past the high-water mark; its values go to a good importer", async () => {
    const base = handleBaseline();
    const exporter = new Exporter({ writeTimeout: 400, maxWindow: 65_536 });
    const jobs = exportChannel<Uint8Array>(exporter, 'jobs', 'send'); // queue of 1,024: feed() refills it as values leave
    const errors = record(exporter.errors$);
    const { url } = await exporter.listen('tcp://127.0.0.1:0');
    const peer = await RawPeer.connect(url);
    peer.hello();
    for (let id = 1; id < 200; id += 2) peer.send([T.Open, id, 'jobs', 0, 65_536, -1]); // 100 bindings × the largest window
    await peer.frame((f) => f[0] === T.Hello);
    peer.socket.pause(); // ...and never reads again
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const rssBefore = process.memoryUsage().rss;
    const chunk = new Uint8Array(16 * 1024);
    const fed = record(feed(jobs, (function* () { for (let i = 0; i < 20_000; i++) yield chunk; })()));
    await errors.count(1, 10_000);
    lag.disable();
    const err = errors.values[0] as NetchanError;
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.message).toMatch(/left our writes unread for 400 ms \(writeTimeout\)/);
    // feed() offered 20,000 × 16 KiB = 312 MiB as fast as values left the queue; they stopped
    // leaving once the socket was over its high-water mark (before: all of it went into the socket).
    expect(fed.values.at(-1)! < 20_000).toBe(true);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
    expect(lag.max / 1e6).toBeLessThan(500); // the loop was never held for long
    // What the dead peer held goes to an importer that reads.
    const good = Importer.connect(url);
    const got = record(importChannel<Uint8Array>(good, 'jobs', 'recv', { count: 50 }));
    await got.end(10_000);
    expect(got.values.length).toBe(50);
    fed.unsubscribe();
    peer.destroy();
    await good.close();
    await exporter.close();
    expect(await settledHandles(base)).toEqual([]);
  });

  it('the write timeout does not fire while the peer reads slowly (congestion that clears)', async () => {
    const base = handleBaseline();
    const exporter = new Exporter({ writeTimeout: 300 });
    const jobs = exportChannel<Uint8Array>(exporter, 'jobs', 'send');
    const errors = record(exporter.errors$);
    const { url } = await exporter.listen('tcp://127.0.0.1:0');
    const importer = Importer.connect(url);
    const got = record(importChannel<Uint8Array>(importer, 'jobs', 'recv', { count: 400, size: 512 }));
    const payload = new Uint8Array(64 * 1024);
    const fed = record(feed(jobs, range(400).map(() => payload)));
    await got.end(20_000);
    expect(got.values.length).toBe(400);
    expect(errors.values).toEqual([]);
    fed.unsubscribe();
    await importer.close();
    await exporter.close();
    expect(await settledHandles(base)).toEqual([]);
  });
});
