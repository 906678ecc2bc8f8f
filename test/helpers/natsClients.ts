import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';

/** A test's NATS connection and JetStream manager. */
export interface NatsClient {
  nc: NatsConnection;
  jsm: JetStreamManager;
}

const open = new Set<NatsConnection>();

/** Connects to `servers` (fast reconnects, for fault tests); closeAllClients() closes it. */
export async function natsClient(servers: string | string[], name = 'test', options: ConnectionOptions = {}): Promise<NatsClient> {
  const nc = await connect({ servers, name, maxReconnectAttempts: -1, reconnectTimeWait: 100, reconnectJitter: 20, pingInterval: 2_000, maxPingOut: 2, ...options });
  open.add(nc);
  void nc.closed().then(() => open.delete(nc));
  return { nc, jsm: await jetstreamManager(nc) };
}

/** Closes every connection natsClient() opened that is still open. */
export async function closeAllClients(): Promise<void> {
  await Promise.all([...open].map((nc) => nc.close().catch(() => undefined)));
  open.clear();
}
