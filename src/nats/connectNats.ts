import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { NetchanError } from '../errors/NetchanError.js';
import type { ResolvedNatsConfig } from './NatsConfig.js';

/** How a NATS connection comes back after a drop. */
export interface NatsReconnect {
  /** Attempts per drop; -1 for forever, 0 to close at the first drop. Defaults to -1. */
  maxAttempts?: number;
  /** Keep trying the first connection too, instead of failing at once. Defaults to false. */
  waitOnFirstConnect?: boolean;
}

/**
 * Connects to NATS with the credentials and TLS of `config`, by default
 * reconnecting forever (a channel outlives any one server of a cluster).
 * Unless `waitOnFirstConnect`, the first connection must succeed: a wrong
 * address fails with `'ECLOSED'`, refused credentials with `'EAUTH'`.
 * @param servers Seed servers, `host:port` or `nats://`/`tls://` URLs.
 */
export async function connectNats(servers: readonly string[], config: ResolvedNatsConfig, reconnect: NatsReconnect = {}): Promise<NatsConnection> {
  const all = [...servers, ...config.servers];
  const options: ConnectionOptions = {
    servers: all,
    name: config.name,
    // 0: no reconnection at all (nats.js would still try once with maxReconnectAttempts 0).
    reconnect: reconnect.maxAttempts !== 0,
    maxReconnectAttempts: reconnect.maxAttempts ?? -1,
    waitOnFirstConnect: reconnect.waitOnFirstConnect ?? false,
    reconnectTimeWait: config.reconnectTimeWait,
    // Disconnects must show quickly: a dead link otherwise holds pulls and publishes for minutes.
    pingInterval: 10_000,
    maxPingOut: 2,
  };
  if (config.authenticator) options.authenticator = config.authenticator;
  else if (config.creds !== undefined) {
    options.authenticator = credsAuthenticator(typeof config.creds === 'string' ? new TextEncoder().encode(config.creds) : config.creds);
  } else if (config.token !== undefined) options.token = config.token;
  else if (config.user !== undefined) {
    options.user = config.user;
    if (config.pass !== undefined) options.pass = config.pass;
  }
  if (config.tls) options.tls = config.tls;
  try {
    return await connect(options);
  } catch (e) {
    throw toConnectError(e, all);
  }
}

function toConnectError(e: unknown, servers: readonly string[]): NetchanError {
  const err = e as Error;
  const where = servers.join(', ');
  if (err?.name === 'AuthorizationError' || /authoriz|authenticat/i.test(err?.message ?? '')) {
    return new NetchanError('EAUTH', `NATS at ${where} refused the credentials: ${err.message}`, { cause: e });
  }
  return new NetchanError('ECLOSED', `cannot connect to NATS at ${where}: ${err?.message ?? String(e)}`, { cause: e });
}
