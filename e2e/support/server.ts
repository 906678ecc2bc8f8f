import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { Exporter, type ExporterConfig } from '../../src/index.js';
import '../../src/node.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.ico': 'image/x-icon',
  '.svg': 'image/svg+xml',
};

/** A web app on loopback: static files from `root` and an Exporter on `ws://…/netchan`, one port. */
export interface AppServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  /** `ws://127.0.0.1:<port>/netchan` */
  readonly wsUrl: string;
  readonly exporter: Exporter;
  readonly server: Server;
  close(): Promise<void>;
}

/**
 * Serves `root` (unknown paths fall back to index.html, as a single-page app
 * wants) and attaches `exporter` to the same http.Server at `/netchan`.
 */
export async function startAppServer(root: string, config: ExporterConfig = {}): Promise<AppServer> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    const safe = file.startsWith(root.endsWith(sep) ? root : root + sep) ? file : join(root, 'index.html');
    readFile(safe)
      .catch(() => readFile(join(root, 'index.html')))
      .then(
        (body) => {
          res.writeHead(200, { 'Content-Type': TYPES[extname(safe)] ?? 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
          res.end(body);
        },
        () => {
          res.writeHead(404).end('not found');
        },
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  const exporter = new Exporter({ ...config, transport: { ...config.transport, server } });
  const { url: wsUrl } = await exporter.listen(`ws://127.0.0.1:${port}/netchan`);
  return {
    url: `http://127.0.0.1:${port}/`,
    wsUrl,
    exporter,
    server,
    async close() {
      await exporter.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
