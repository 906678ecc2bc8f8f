// rx-netchan/node: TCP (and TLS, WebSocket server) transports for Node.
// Importing this module registers them with exporter.listen() and Importer.connect().
import { registerTransport } from './transport/registry.js';
import { dialTcp, listenTcp } from './node/tcp.js';
import { dialTls, listenTls } from './node/tls.js';

registerTransport('tcp:', { listen: listenTcp, dial: dialTcp });

// WebSocket: the ws server for exporter.listen('ws://…'), and ws as the client
// on Node (Node 20 has no global WebSocket; ws also enforces maxPayload).
import { WebSocket as WsWebSocket } from 'ws';
import { setWebSocketImplementation, type WebSocketConstructor } from './transport/websocket.js';
import { listenWebSocket } from './node/wsServer.js';
setWebSocketImplementation(WsWebSocket as unknown as WebSocketConstructor);
registerTransport('ws:', { listen: listenWebSocket });
registerTransport('wss:', { listen: listenWebSocket });
registerTransport('tls:', { listen: listenTls, dial: dialTls });

// diagnostics_channel events (rx-netchan:connection:open, …): free until someone subscribes.
import { setDiagnosticsChannels } from './observe/diagnostics.js';
import { nodeDiagnosticsChannels } from './node/diagnostics.js';
setDiagnosticsChannels(nodeDiagnosticsChannels());
export { nodeDiagnosticsChannels } from './node/diagnostics.js';

export { dialTcp, listenTcp } from './node/tcp.js';
export { dialTls, listenTls } from './node/tls.js';
export { SocketConnection } from './node/SocketConnection.js';
export type { SocketConnectionConfig } from './node/SocketConnection.js';
export { listenWebSocket } from './node/wsServer.js';
export type { WsListenConfig } from './node/wsServer.js';
export { FaultProxy } from './node/FaultProxy.js';
export type {
  FaultCloseReason,
  FaultDirection,
  FaultDirections,
  FaultDirectionStats,
  FaultProxyConfig,
  FaultProxyConnection,
  FaultProxyEvent,
  FaultToxics,
  FaultToxicsPatch,
} from './node/FaultProxy.js';
export type { TlsDialConfig, TlsListenConfig } from './node/tls.js';
export type { WsServerOptions, WsClientInfo } from './node/wsServer.js';
export { toReadable } from './node/toReadable.js';
