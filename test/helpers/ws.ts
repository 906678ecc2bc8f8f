import { createServer, type Server } from 'node:http';
import {
  DEFAULT_MAX_FRAME_BYTES,
  Exporter,
  Importer,
  WebSocketConnection,
  dialWebSocket,
  type Connection,
  type ExporterConfig,
  type ImporterConfig,
} from '../../src/index.js';
import '../../src/node.js';

/** An exporter listening on a real `ws://127.0.0.1:<port>/netchan`, plus a way to connect importers to it. */
export interface WsServed {
  readonly exporter: Exporter;
  /** The bound URL, e.g. `ws://127.0.0.1:40123/netchan`. */
  readonly url: string;
  /** Connects a new importer over a real WebSocket (ws on Node 20). */
  connect(config?: ImporterConfig): Importer;
  /** Closes every importer made by connect(), then the exporter (and its server). */
  close(): Promise<void>;
}

/**
 * Serves `exporter` (a new one if absent) over WebSocket on loopback, port 0.
 * With `attach: true` it attaches to a plain http.Server of its own instead of
 * letting the exporter create one (closed by close()).
 */
export async function wsServe(
  exporterOrConfig: Exporter | ExporterConfig = {},
  options: { path?: string; attach?: boolean } = {},
): Promise<WsServed> {
  const path = options.path ?? '/netchan';
  let server: Server | undefined;
  let exporter: Exporter;
  if (exporterOrConfig instanceof Exporter) {
    exporter = exporterOrConfig;
  } else {
    const transport = { ...exporterOrConfig.transport };
    if (options.attach) {
      server = createServer((_req, res) => res.end('hello from the web app\n'));
      transport['server'] = server;
    }
    exporter = new Exporter({ ...exporterOrConfig, transport });
  }
  const { url } = await exporter.listen(`ws://127.0.0.1:0${path}`);
  const importers: Importer[] = [];
  return {
    exporter,
    url,
    connect(config?: ImporterConfig) {
      const importer = Importer.connect(url, config);
      importers.push(importer);
      return importer;
    },
    async close() {
      await Promise.all(importers.map((i) => i.close()));
      await exporter.close();
      if (server) {
        await new Promise<void>((resolve) => server!.close(() => resolve()));
        server.closeAllConnections();
      }
    },
  };
}

/**
 * A connected exporter/importer pair over a real WebSocket on 127.0.0.1 (port
 * 0), for the shared transport matrix, like `memoryPipe()` for memory:
 *
 * ```ts
 * const { exporter, importer, close } = await wsPair();
 * // … exportChannel(exporter, …), importChannel(importer, …) …
 * await close(); // importer, exporter, server, sockets
 * ```
 */
export async function wsPair(
  exporterConfig: ExporterConfig = {},
  importerConfig: ImporterConfig = {},
): Promise<{ exporter: Exporter; importer: Importer; url: string; close: () => Promise<void> }> {
  const served = await wsServe(exporterConfig);
  const importer = served.connect(importerConfig);
  return { exporter: served.exporter, importer, url: served.url, close: () => served.close() };
}

/**
 * The WebSocket entry for the shared transport matrix (`TRANSPORT_DEFS` in
 * test/helpers/transports.ts): serves the exporter on a real ws server and
 * dials it with the root entry's WebSocket client (ws on Node 20).
 *
 * ```ts
 * ws: WS_TRANSPORT_DEF,
 * ```
 * and in `CuttableConnection.cut()`: `if (cutWebSocket(this.inner)) return;`
 */
export const WS_TRANSPORT_DEF = {
  async serve(exporter: Exporter): Promise<() => Connection> {
    const { url } = await exporter.listen('ws://127.0.0.1:0/netchan');
    return () => dialWebSocket(new URL(url), { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES });
  },
};

/** Drops a WebSocket connection abruptly (no BYE, no close handshake), like a closing tab. False if `conn` is not one. */
export function cutWebSocket(conn: Connection): boolean {
  if (!(conn instanceof WebSocketConnection)) return false;
  const raw = conn.raw as { terminate?: () => void };
  raw.terminate?.();
  return raw.terminate !== undefined;
}
