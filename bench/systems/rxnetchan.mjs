// rx-netchan with default options, through its public API only (the built dist/).
// params.transport: 'tcp' | 'ws' | 'nats' (JetStream at params.natsUrl; each run names its
// channels after params.subject, so streams of earlier runs do not interfere). The library
// path comes from BENCH_LIB_DIR (run.mjs snapshots dist/ there so a concurrent
// `npm run build` cannot pull it away mid-run).
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const libDir = process.env.BENCH_LIB_DIR ?? path.resolve(import.meta.dirname, '../../dist');
const lib = await import(pathToFileURL(path.join(libDir, 'index.js')).href);
await import(pathToFileURL(path.join(libDir, 'node.js')).href);
const withNats = (params) => (params.transport === 'nats' ? import(pathToFileURL(path.join(libDir, 'nats.js')).href) : null);
const { Exporter, Importer, exportChannel, importChannel } = lib;

/** writable()/waitWritable() over a SendChannel's public capacity / capacity$. */
function paced(ch) {
  return {
    writable: () => ch.capacity > 0,
    waitWritable() {
      if (ch.capacity > 0) return Promise.resolve();
      return new Promise((resolve) => {
        let done = false;
        let sub = null;
        sub = ch.capacity$.subscribe((c) => {
          if (c > 0 && !done) {
            done = true;
            resolve();
            sub?.unsubscribe();
          }
        });
        if (done) sub.unsubscribe();
      });
    },
    send: (v) => ch.next(v),
    end: () => ch.complete(),
  };
}

/** Channel names, and where the exporter listens. */
function where(params) {
  if (params.transport === 'nats') return { down: `${params.subject}.down`, up: `${params.subject}.up`, listen: params.natsUrl };
  return { down: 'down', up: 'up', listen: params.transport === 'ws' ? 'ws://127.0.0.1:0/bench' : 'tcp://127.0.0.1:0' };
}

export async function server({ params, onMessage }) {
  await withNats(params);
  const w = where(params);
  const exporter = new Exporter();
  const down = exportChannel(exporter, w.down, 'send');
  exportChannel(exporter, w.up, 'recv', { keepOpen: true }).subscribe({ next: onMessage, error: () => {} });
  const { url } = await exporter.listen(w.listen); // throws while a transport is missing: run.mjs skips the row
  return {
    url,
    out: paced(down),
    async close() {
      await exporter.close();
    },
  };
}

export async function client({ url, params, onMessage, onEnd }) {
  await withNats(params);
  const w = where(params);
  const importer = Importer.connect(url);
  importer.errors$.subscribe(() => {});
  const importConfig = params.size ? { size: params.size } : undefined; // default options unless a diagnostic row asks
  importChannel(importer, w.down, 'recv', importConfig).subscribe({ next: onMessage, complete: onEnd, error: () => {} });
  const up = importChannel(importer, w.up, 'send');
  return {
    out: paced(up),
    async close() {
      await importer.close();
    },
  };
}
