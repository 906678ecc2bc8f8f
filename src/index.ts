// Public surface of rx-netchan (runs in Node and browsers: nothing from node:).
export { Exporter } from './endpoint/Exporter.js';
export type { ExporterConfig } from './endpoint/Exporter.js';
export type { ClientInfo } from './endpoint/ExporterClient.js';
export type { BindingStats, ChannelListing, ChannelStats, ClientState, ClientStats, ExporterMetrics, ImporterMetrics } from './endpoint/Metrics.js';
export type { Logger } from './observe/Logger.js';
export { setDiagnosticsChannels, DIAGNOSTICS_CHANNEL_NAMES } from './observe/diagnostics.js';
export type { DiagnosticsChannel, DiagnosticsChannels } from './observe/diagnostics.js';
export type { StandardSchemaV1 } from './channel/StandardSchema.js';
export type { InvalidValueError } from './channel/SchemaGate.js';
export { Importer } from './endpoint/Importer.js';
export type { ImporterConfig, ImportConfig, ImportRecvConfig, ImportSendConfig } from './endpoint/Importer.js';
export type { ImporterState, ReconnectEvent } from './endpoint/ImporterConnection.js';
export type { ReconnectConfig } from './endpoint/ReconnectConfig.js';
export type { EndpointConfig } from './endpoint/EndpointConfig.js';
export { registerBackend } from './endpoint/backends.js';
export type { ImportBinder, ImporterBackend, ImporterConnection, ImporterConnectionHost } from './endpoint/ImporterConnection.js';
export type { ExportedChannelRef, ExportedChannels, ExporterBackend } from './endpoint/ExportedChannels.js';
export { exportChannel } from './endpoint/exportChannel.js';
export { importChannel } from './endpoint/importChannel.js';
export { SendChannel } from './channel/SendChannel.js';
export type { SendQueueConfig } from './channel/SendChannel.js';
export type { ExportRecvConfig } from './channel/ExportedRecvChannel.js';
export type { Delivery } from './channel/Delivery.js';
export type { OverflowStrategy } from './channel/Dispatcher.js';
export type { SessionStats } from './endpoint/SessionStats.js';
export { channelPair } from './ends/channelPair.js';
export type { ChannelPairConfig } from './ends/channelPair.js';
export { request, respond } from './ends/request.js';
export type { Request } from './ends/request.js';
export { streamBytes, toReadableStream } from './ends/bytes.js';
export type { StreamBytesConfig } from './ends/bytes.js';
export { drain } from './operators/drain.js';
export { sync } from './operators/sync.js';
export { feed } from './operators/feed.js';
export type { FeedConfig } from './operators/feed.js';
export { ackWhenDone } from './operators/ackWhenDone.js';
export type { DrainConfig, DrainTarget } from './operators/waitForAcks.js';
export { NetchanError, isNetchanError } from './errors/NetchanError.js';
export type { NetchanErrorCode } from './errors/NetchanError.js';
export { DrainTimeoutError } from './errors/DrainTimeoutError.js';
export { memoryPipe } from './transport/memoryPipe.js';
export type { MemoryPipeConfig } from './transport/memoryPipe.js';
export type { Connection, ConnectionHandler } from './transport/Connection.js';
export { registerTransport } from './transport/registry.js';
export type { Listener, ListenFn, DialFn, TransportOptions } from './transport/registry.js';
export {
  PROTOCOL_VERSION,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_WINDOW,
  DEFAULT_MAX_WINDOW,
  DEFAULT_QUEUE_LIMIT,
  DEFAULT_KEEPALIVE_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_WRITE_TIMEOUT_MS,
  DEFAULT_RESUME_GRACE_MS,
  DEFAULT_DISCONNECT_GRACE_MS,
  DEFAULT_MAX_HELD_BYTES,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_ELEMENTS,
  DEFAULT_HIGH_WATER_MARK,
} from './protocol/limits.js';
export type { ValueLimits } from './protocol/limits.js';
// WebSocket client (browsers, Node 22+; on Node 20 'rx-netchan/node' supplies ws).
// ws:/wss: dialing is built into the transport registry (see registry.ts).
export {
  WebSocketConnection,
  dialWebSocket,
  setWebSocketImplementation,
  WS_MAX_BATCH_BYTES,
  WsCloseCode,
} from './transport/websocket.js';
export type { WebSocketConnectionConfig, WebSocketConstructor, WebSocketLike } from './transport/websocket.js';
export type { ValueExtension, ValueCodecContext } from './protocol/valueExtensions.js';
