import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { NetchanError } from '../errors/NetchanError.js';
import type { Connection } from '../transport/Connection.js';
import type { Listener, TransportOptions } from '../transport/registry.js';
import { SocketConnection, type SocketConnectionConfig } from './SocketConnection.js';

/** Host and port of a `tcp://host:port` URL. */
export function hostPort(url: URL, defaultPort?: number): { host: string; port: number } {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = url.port === '' ? defaultPort : Number(url.port);
  if (port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new NetchanError('EPROTO', `${url.href}: a port is required`);
  }
  return { host, port };
}

function remoteOf(scheme: string, s: Socket): string {
  const host = s.remoteAddress?.includes(':') ? `[${s.remoteAddress}]` : s.remoteAddress;
  return `${scheme}//${host ?? '?'}:${s.remotePort ?? '?'}`;
}

/** Socket options taken from transport options: `highWaterMark` (bytes buffered before `write()` returns false). */
export function socketConfig(options: TransportOptions | undefined): SocketConnectionConfig {
  const hwm = options?.['highWaterMark'];
  return typeof hwm === 'number' && hwm > 0 ? { highWaterMark: hwm } : {};
}

/** Dials `tcp://host:port`; the connection buffers writes until connected. */
export function dialTcp(url: URL, options?: TransportOptions): Connection {
  const { host, port } = hostPort(url);
  const socket = connect({ host, port });
  return new SocketConnection(socket, `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`, socketConfig(options));
}

/** Accepts TCP connections at `tcp://host:port` (port 0: any free port). */
export function listenTcp(url: URL, accept: (conn: Connection) => void, options?: TransportOptions): Promise<Listener> {
  const { host, port } = hostPort(url, 0);
  const config = socketConfig(options);
  const server = createServer((socket) => accept(new SocketConnection(socket, remoteOf('tcp:', socket), config)));
  return listenOn(server, 'tcp:', host, port);
}

/** Starts `server` on host:port and wraps it as a Listener. */
export function listenOn(server: Server, scheme: string, host: string, port: number): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(new NetchanError('ECLOSED', `cannot listen on ${scheme}//${host}:${port}: ${e.message}`, { cause: e }));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address() as AddressInfo;
      const h = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
      resolve({
        url: `${scheme}//${h}:${addr.port}`,
        close: () => new Promise<void>((res) => server.close(() => res())),
        stop: () => {
          if (server.listening) server.close();
        },
      });
    });
  });
}
