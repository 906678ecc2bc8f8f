// rx-netchan/nats: the nats:// scheme, channels through NATS JetStream.
// Importing this module registers it with exporter.listen() and Importer.connect().
// Needs the optional peer dependencies @nats-io/transport-node and @nats-io/jetstream.
import { registerBackend } from './endpoint/backends.js';
import { listenNats } from './nats/listenNats.js';
import { NatsImporterConnection } from './nats/NatsImporterConnection.js';

registerBackend('nats:', {
  exporter: listenNats,
  importer: (url, config, host) => new NatsImporterConnection(url, config, host),
});

export type { NatsConfig, NatsRetention, NatsStorage } from './nats/NatsConfig.js';
