import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';

/** Takes an upgrade request whose path matched. */
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

interface Router {
  routes: Map<string, UpgradeHandler>;
  listener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

const routers = new WeakMap<HttpServer, Router>();

/** The path of a request URL, without the query. */
export function pathOf(reqUrl: string | undefined): string {
  const u = reqUrl ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

/**
 * Routes WebSocket upgrades on one http(s) server by path, so several
 * exporters (and the user's own upgrade handlers) can share a port. One
 * 'upgrade' listener per server: a request for a path no exporter serves is
 * answered with 404, unless the server has other 'upgrade' listeners, which
 * are then left to handle it.
 *
 * @returns false when `path` is already routed on this server.
 */
export function addRoute(server: HttpServer, path: string, handler: UpgradeHandler): boolean {
  let router = routers.get(server);
  if (!router) {
    const routes = new Map<string, UpgradeHandler>();
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      const h = routes.get(pathOf(req.url));
      if (h) return h(req, socket, head);
      if (server.listenerCount('upgrade') > 1) return; // someone else's upgrade
      rejectUpgrade(socket, 404, 'Not Found', `no rx-netchan WebSocket endpoint at ${pathOf(req.url)}; try ${[...routes.keys()].join(', ')}`);
    };
    router = { routes, listener };
    routers.set(server, router);
    server.on('upgrade', listener);
  }
  if (router.routes.has(path)) return false;
  router.routes.set(path, handler);
  return true;
}

/** Stops routing `path`; removes the server's listener when no route is left. */
export function removeRoute(server: HttpServer, path: string, handler: UpgradeHandler): void {
  const router = routers.get(server);
  if (!router || router.routes.get(path) !== handler) return;
  router.routes.delete(path);
  if (router.routes.size === 0) {
    server.off('upgrade', router.listener);
    routers.delete(server);
  }
}

/** Answers an upgrade request with a plain HTTP error and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, statusText: string, message: string): void {
  if (socket.destroyed) return;
  const body = Buffer.from(message);
  socket.once('finish', () => socket.destroy());
  socket.once('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n\r\n` +
      body.toString(),
  );
}
