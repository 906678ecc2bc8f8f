import { connect, createServer, type ConnectionOptions, type TlsOptions } from 'node:tls';
import type { Connection } from '../transport/Connection.js';
import type { Listener, TransportOptions } from '../transport/registry.js';
import { SocketConnection } from './SocketConnection.js';
import { hostPort, listenOn, socketConfig } from './tcp.js';

/**
 * The Importer's `transport` option for `tls://`: every `tls.connect()` option
 * (`ca`, `cert`/`key` for client certificates, `servername`,
 * `checkServerIdentity` for certificate pinning, `minVersion`, `ALPNProtocols`,
 * …), passed through unchanged. Where to connect comes from the URL.
 * `servername` (SNI) defaults to the URL's host name, and is not sent for an IP address.
 */
export type TlsDialConfig = Omit<ConnectionOptions, 'host' | 'port' | 'socket' | 'path'>;

/**
 * The Exporter's `transport` option for `tls://`: every `tls.createServer()`
 * option (`key`/`cert` or `pfx`, `ca` and `requestCert` for client
 * certificates, `SNICallback`, `minVersion`, …), passed through unchanged.
 */
export type TlsListenConfig = Pick<TlsOptions, keyof TlsOptions>; // a mapped type, so it fits `transport`'s Record<string, unknown>

/** The transport options minus what the Exporter/Importer adds for every transport. */
function tlsOptions<T>(options: TransportOptions | undefined): T {
  const { maxFrameBytes: _limit, ...rest } = options ?? { maxFrameBytes: 0 };
  return rest as T;
}

/**
 * Dials `tls://host:port` with every option of the importer's `transport`
 * ({@link TlsDialConfig}). A failed handshake (an untrusted certificate, or a
 * `checkServerIdentity` that returns an error) ends the connection with that
 * error as the cause of `'ECLOSED'` on `importer.errors$`.
 */
export function dialTls(url: URL, options?: TransportOptions): Connection {
  const { host, port } = hostPort(url);
  // No servername here: tls.connect() sends the host name as SNI and checks the
  // certificate against it, and leaves SNI out for an IP (a servername that is
  // an IP address is deprecated, DEP0123).
  const socket = connect({ ...tlsOptions<TlsDialConfig>(options), host, port });
  return new SocketConnection(socket, `tls://${host.includes(':') ? `[${host}]` : host}:${port}`, socketConfig(options));
}

/** Accepts TLS connections at `tls://host:port` with every option of the exporter's `transport` ({@link TlsListenConfig}). */
export function listenTls(url: URL, accept: (conn: Connection) => void, options?: TransportOptions): Promise<Listener> {
  const { host, port } = hostPort(url, 0);
  const config = socketConfig(options);
  const server = createServer(tlsOptions<TlsListenConfig>(options), (socket) =>
    accept(new SocketConnection(socket, `tls://${socket.remoteAddress}:${socket.remotePort}`, config)),
  );
  return listenOn(server, 'tls:', host, port);
}
