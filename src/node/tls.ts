import { connect, createServer, type ConnectionOptions, type TlsOptions } from 'node:tls';
import type { Connection } from '../transport/Connection.js';
import type { Listener, TransportOptions } from '../transport/registry.js';
import { SocketConnection } from './SocketConnection.js';
import { hostPort, listenOn, socketConfig } from './tcp.js';

const TLS_KEYS = ['key', 'cert', 'ca', 'pfx', 'passphrase', 'rejectUnauthorized', 'requestCert', 'servername', 'minVersion', 'ciphers'] as const;

function tlsOptions(options: TransportOptions | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of TLS_KEYS) if (options && options[k] !== undefined) out[k] = options[k];
  return out;
}

/** Dials `tls://host:port`. TLS options (`ca`, `rejectUnauthorized`, `servername`, …) come from the importer's `transport` option. */
export function dialTls(url: URL, options?: TransportOptions): Connection {
  const { host, port } = hostPort(url);
  const socket = connect({ host, port, servername: host, ...tlsOptions(options) } as ConnectionOptions);
  return new SocketConnection(socket, `tls://${host}:${port}`, socketConfig(options));
}

/** Accepts TLS connections at `tls://host:port`; `key`/`cert` (or `pfx`) come from the exporter's `transport` option. */
export function listenTls(url: URL, accept: (conn: Connection) => void, options?: TransportOptions): Promise<Listener> {
  const { host, port } = hostPort(url, 0);
  const config = socketConfig(options);
  const server = createServer(tlsOptions(options) as TlsOptions, (socket) =>
    accept(new SocketConnection(socket, `tls://${socket.remoteAddress}:${socket.remotePort}`, config)),
  );
  return listenOn(server, 'tls:', host, port);
}
