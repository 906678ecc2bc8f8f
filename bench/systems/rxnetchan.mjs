// rx-netchan with default options, through its public API only (the built dist/).
// params.transport: 'tcp' | 'ws'.  The library path comes from BENCH_LIB_DIR (run.mjs
// snapshots dist/ there so a concurrent `npm run build` cannot pull it away mid-run).
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const libDir = process.env.BENCH_LIB_DIR ?? path.resolve(import.meta.dirname, '../../dist');
const lib = await import(pathToFileURL(path.join(libDir, 'index.js')).href);
await import(pathToFileURL(path.join(libDir, 'node.js')).href);
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

export async function server({ params, onMessage }) {
  const exporter = new Exporter();
  const listenUrl = params.transport === 'ws' ? 'ws://127.0.0.1:0/bench' : 'tcp://127.0.0.1:0';
  const { url } = await exporter.listen(listenUrl); // throws while a transport is missing: run.mjs skips the row
  const down = exportChannel(exporter, 'down', 'send');
  exportChannel(exporter, 'up', 'recv', { keepOpen: true }).subscribe({ next: onMessage, error: () => {} });
  return {
    url,
    out: paced(down),
    async close() {
      await exporter.close();
    },
  };
}

export async function client({ url, params, onMessage, onEnd }) {
  const importer = Importer.connect(url);
  importer.errors$.subscribe(() => {});
  const importConfig = params.size ? { size: params.size } : undefined; // default options unless a diagnostic row asks
  importChannel(importer, 'down', 'recv', importConfig).subscribe({ next: onMessage, complete: onEnd, error: () => {} });
  const up = importChannel(importer, 'up', 'send');
  return {
    out: paced(up),
    async close() {
      await importer.close();
    },
  };
}
