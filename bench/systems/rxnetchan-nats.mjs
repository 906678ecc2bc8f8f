// rx-netchan over NATS JetStream (rx-netchan/nats), default options, through the public API
// (the built dist/). Needs a nats-server with JetStream (params.natsUrl). Each run uses its own
// channel names (params.subject), so streams of earlier runs do not interfere.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const libDir = process.env.BENCH_LIB_DIR ?? path.resolve(import.meta.dirname, '../../dist');
const lib = await import(pathToFileURL(path.join(libDir, 'index.js')).href);
await import(pathToFileURL(path.join(libDir, 'nats.js')).href);
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

const names = (params) => ({ down: `${params.subject}.down`, up: `${params.subject}.up` });

export async function server({ params, onMessage }) {
  const exporter = new Exporter();
  const n = names(params);
  const down = exportChannel(exporter, n.down, 'send');
  exportChannel(exporter, n.up, 'recv', { keepOpen: true }).subscribe({ next: onMessage, error: () => {} });
  await exporter.listen(params.natsUrl);
  return {
    url: params.natsUrl,
    out: paced(down),
    async close() {
      await exporter.close();
    },
  };
}

export async function client({ params, onMessage, onEnd }) {
  const importer = Importer.connect(params.natsUrl);
  importer.errors$.subscribe(() => {});
  const n = names(params);
  const importConfig = params.size ? { size: params.size } : undefined;
  importChannel(importer, n.down, 'recv', importConfig).subscribe({ next: onMessage, complete: onEnd, error: () => {} });
  const up = importChannel(importer, n.up, 'send');
  return {
    out: paced(up),
    async close() {
      await importer.close();
    },
  };
}
