// rx-netchan/node: TCP (and TLS, WebSocket server) transports for Node.
// Importing this module registers them with exporter.listen() and Importer.connect().
import { registerTransport } from './transport/registry.js';
import { dialTcp, listenTcp } from './node/tcp.js';

registerTransport('tcp:', { listen: listenTcp, dial: dialTcp });

export { dialTcp, listenTcp } from './node/tcp.js';
export { SocketConnection } from './node/SocketConnection.js';
