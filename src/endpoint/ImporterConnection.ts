import type { RecvLane, RecvSink, SendLane, SendLaneOwner } from '../channel/Lane.js';
import type { NetchanError } from '../errors/NetchanError.js';
import type { ValueCodec } from '../protocol/codec.js';
import type { SessionStats } from './SessionStats.js';
import type { BindingStats } from './Metrics.js';

/** Where an importer's imports bind: a session over a connection, or a broker (NATS). */
export interface ImportBinder {
  // `size` is AUTO_WINDOW (0) when the user left it unset: the binder picks (a session adapts it).
  /** A lane on which this side receives channel `name` (a number: a channel end inside a value). */
  openInbound(name: string | number, size: number, count: number, sink: RecvSink): RecvLane;
  /** A lane on which this side sends into channel `name`; the caller attaches it to its queue. */
  openOutbound(name: string | number, size: number, count: number, owner: SendLaneOwner): SendLane;
  /** Largest encoded value the other side accepts. */
  readonly frameLimit: number;
}

/** Where an importer's connection stands; see `importer.state$`. */
export type ImporterState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/**
 * What happened when a reconnecting importer got its connection back.
 * `'resumed'`: the exporter still had the session; every binding went on
 * where it stopped, exactly once. `'new-session'`: it did not (the outage
 * outlasted `resumeGrace`, or the exporter restarted: `exporterRestarted`);
 * every live import was bound afresh, and values that were in flight at the
 * drop may arrive twice (see the README's "Reliability").
 */
export interface ReconnectEvent {
  readonly type: 'resumed' | 'new-session';
  /** The exporter is a different process than before (it restarted). */
  readonly exporterRestarted: boolean;
  /** Dial attempts it took. */
  readonly attempts: number;
  /** Ms from the drop to the new connection's handshake. */
  readonly downtime: number;
}

/** What a connection reports to its Importer. */
export interface ImporterConnectionHost {
  readonly codec: ValueCodec;
  /** A transmission or protocol error (errors$). */
  error(err: NetchanError): void;
  state(s: ImporterState): void;
  /** The connection came back; `rebind`: on a new binder (a new session), so every live import binds again. */
  reconnected(event: ReconnectEvent, rebind: boolean): void;
  /** Acknowledgements or losses changed what drain/sync wait for. */
  progress(): void;
  /** Closed for good: `err` unset for a clean end (imports complete), else imports error with it. */
  closed(err: NetchanError | undefined): void;
}

/**
 * An importer's way to its exporter: the direct one (links and a resumable
 * session over TCP, TLS, WebSocket or a pipe), or a channel-level backend
 * (NATS JetStream) registered for a URL scheme.
 */
export interface ImporterConnection {
  /** Where imports bind now (it changes when a new session starts: see `reconnected`). */
  readonly binder: ImportBinder;
  readonly remote: string;
  readonly stats: SessionStats;
  /** Its bindings now (metrics); optional. */
  readonly bindings?: readonly BindingStats[];
  /** Measures the round trip now (a PING), if it can; optional. */
  ping?(): void;
  /** Asks the exporter (a QUERY frame: `'channels'`, `'metrics'`); optional: without it the importer cannot. */
  query?(what: string): Promise<unknown>;
  /** Ends it: no more attempts; resolves once closed (after `host.closed`). */
  close(): Promise<void>;
}

/** Makes the connection of a channel-level backend (`Importer.connect('nats://…')`). */
export type ImporterBackend = (url: URL, config: Record<string, unknown>, host: ImporterConnectionHost) => ImporterConnection;
