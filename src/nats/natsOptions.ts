import { NetchanError } from '../errors/NetchanError.js';
import { resolveNatsConfig, type NatsConfig, type ResolvedNatsConfig } from './NatsConfig.js';

/** What `nats://…` and the endpoint's `transport` option amount to. */
export interface NatsOptions {
  /** Seed servers: the URL's first, then `transport.servers`. */
  readonly servers: string[];
  readonly config: ResolvedNatsConfig;
  /** The URL without credentials (what `listen()` resolves with, what `remote` shows). */
  readonly url: string;
}

/**
 * Reads `nats://[user:pass@|token@]host[:port]` and the {@link NatsConfig}
 * given as the Exporter's or Importer's `transport` option. Credentials in
 * the URL count unless `transport` names its own.
 * @throws NetchanError `'EINVAL'` for a URL without a host, a `transport`
 * that is not an object, or an option out of range.
 */
export function natsOptions(url: URL, transport: unknown): NatsOptions {
  if (url.hostname === '') throw new NetchanError('EINVAL', `NATS URL "${url.href}" has no host: write nats://host:port`);
  if (transport !== undefined && (typeof transport !== 'object' || transport === null || Array.isArray(transport))) {
    throw new NetchanError('EINVAL', 'the transport option of a nats:// endpoint must be an object of NATS options (NatsConfig)');
  }
  const given = (transport ?? {}) as NatsConfig;
  const fromUrl: NatsConfig = {};
  const ownAuth = given.user !== undefined || given.token !== undefined || given.creds !== undefined || given.authenticator !== undefined;
  if (!ownAuth && url.username !== '') {
    const user = decodeURIComponent(url.username);
    if (url.password !== '') {
      fromUrl.user = user;
      fromUrl.pass = decodeURIComponent(url.password);
    } else {
      fromUrl.token = user;
    }
  }
  if (given.servers !== undefined && (!Array.isArray(given.servers) || given.servers.some((s) => typeof s !== 'string'))) {
    throw new NetchanError('EINVAL', 'NATS option servers must be an array of "host:port" or "nats://host:port" strings');
  }
  const hostPort = `${url.hostname}:${url.port === '' ? 4222 : url.port}`;
  return {
    servers: [hostPort],
    config: resolveNatsConfig({ ...given, ...fromUrl }),
    url: `nats://${hostPort}`,
  };
}
