import { connect } from '@nats-io/transport-node';
import { credsAuthenticator, type ConnectionOptions, type NatsConnection } from '@nats-io/nats-core';
import { NetchanError } from '../errors/NetchanError.js';
import type { ResolvedNatsConfig } from './NatsConfig.js';

/**
 * Connects to NATS with the credentials and TLS of `config`, reconnecting
 * forever (a channel outlives any one server of a cluster). The first
 * connection must succeed: a wrong address fails with `'ECLOSED'`, refused
 * credentials with `'EAUTH'`.
 * @param servers Seed servers, `host:port` or `nats://`/`tls://` URLs.
 */
export async function connectNats(servers: readonly string[], config: ResolvedNatsConfig): Promise<NatsConnection> {
  const all = [...servers, ...config.servers];
  const options: ConnectionOptions = {
    servers: all,
    name: config.name,
    maxReconnectAttempts: -1,
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
