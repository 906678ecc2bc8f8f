import type { NatsConnection, Status } from '@nats-io/transport-node';

/**
 * Calls `fn` for each status event of the connection (disconnect, reconnect,
 * close, …) until the returned function is called. nats.js offers these as an
 * async iterator; this turns it into a callback that can be released at once.
 */
export function watchStatus(nc: NatsConnection, fn: (status: Status) => void): () => void {
  const it = nc.status() as AsyncIterable<Status> & { stop?: () => void };
  let stopped = false;
  void (async () => {
    try {
      for await (const s of it) {
        if (stopped) break;
        fn(s);
      }
    } catch {
      // The iterator ends with the connection; nothing to report here.
    }
  })();
  return () => {
    if (stopped) return;
    stopped = true;
    it.stop?.();
  };
}
