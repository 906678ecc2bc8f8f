import type { SessionStats } from './SessionStats.js';

/** One binding of a connection, as metrics show it. */
export interface BindingStats {
  /** The binding's id on its session (see docs/PROTOCOL.md); `client.cancel(id)` takes it. */
  readonly id: number;
  /** The channel's name, or `end 7` for a channel end that travelled inside a value. */
  readonly channel: string;
  /** This side's part: `'send'` (it sends to the peer on this binding) or `'recv'`. */
  readonly dir: 'send' | 'recv';
  /** The acknowledgement window (the receiver's `size`). */
  readonly window: number;
  /** Values sent (`'send'`) or received (`'recv'`) on it. */
  readonly values: number;
  /** Of those, acknowledged (by the peer for `'send'`, by this side for `'recv'`). */
  readonly acked: number;
  /** Sent or received and not acknowledged yet: at most `window`. */
  readonly inFlight: number;
}

/** One channel of an endpoint (an export, or the imports of one name), as metrics show it. */
export interface ChannelStats {
  readonly name: string;
  /** This side's direction: `'send'` (values go out) or `'recv'`. */
  readonly dir: 'send' | 'recv';
  /** Bindings (receivers of a `'send'` channel, senders into a `'recv'` one) now. */
  readonly bindings: number;
  /** Sum of those bindings' windows: values that may be in flight at once. */
  readonly window: number;
  /** Values received into it (`'recv'`), and their encoded bytes. */
  readonly valuesIn: number;
  readonly bytesIn: number;
  /** Values written to receivers (`'send'`; a value sent again after a requeue counts again), and their bytes. */
  readonly valuesOut: number;
  readonly bytesOut: number;
  /** Values sent and acknowledged by a receiver (`'send'`), or delivered to a subscriber here (`'recv'`). */
  readonly acked: number;
  /** `'send'`: written and not acknowledged. `'recv'`: received and not acknowledged yet by this side. */
  readonly inFlight: number;
  /** `'send'`: values waiting in the queue for a receiver or window. `'recv'`: values held for a subscriber (or under validation). */
  readonly queued: number;
  /** Values discarded by a `'drop-oldest'`/`'drop-newest'` overflow strategy. */
  readonly dropped: number;
  /** Bindings refused or failed, values rejected by a schema. */
  readonly errors: number;
}

/** One client of an exporter, as metrics show it. */
export interface ClientStats {
  readonly id: string;
  readonly remote: string;
  /** Scheduler time (ms) when it connected. */
  readonly since: number;
  readonly state: ClientState;
  readonly connected: boolean;
  /** The identity `authenticate` returned, when it is a string (for display). */
  readonly identity?: string;
  readonly rtt: number | null;
  readonly stats: SessionStats;
  /** Bindings open now. */
  readonly bindings: number;
  /** Each of them (left out of a remote snapshot: `rx-netchan stat`). */
  readonly bindingStats: readonly BindingStats[];
}

/**
 * `'handshake'`: connected, HELLO not accepted yet. `'open'`. `'detached'`: its
 * connection dropped and its session waits for a resume. `'disconnecting'`:
 * `disconnect(grace)` was called. `'gone'`.
 */
export type ClientState = 'handshake' | 'open' | 'detached' | 'disconnecting' | 'gone';

/** A snapshot of an exporter: `exporter.metrics()`, `exporter.metrics$()`, `rx-netchan stat`. */
export interface ExporterMetrics {
  /** Scheduler time (ms) of the snapshot. */
  readonly at: number;
  /** The exporter process's random id. */
  readonly instance: string;
  readonly clients: readonly ClientStats[];
  readonly channels: readonly ChannelStats[];
  /** Clients and channels left out of a remote snapshot (it lists at most 500 of each). */
  readonly truncated?: { readonly clients: number; readonly channels: number };
}

/** A snapshot of an importer: `importer.metrics()`, `importer.metrics$()`. */
export interface ImporterMetrics {
  readonly at: number;
  readonly remote: string;
  readonly state: 'connecting' | 'open' | 'reconnecting' | 'closed';
  readonly connection: SessionStats;
  readonly bindings: readonly BindingStats[];
  readonly channels: readonly ChannelStats[];
}

/** An exported channel as `importer.listChannels()` (and `rx-netchan ls`) lists it. */
export interface ChannelListing {
  readonly name: string;
  /** The export's direction: `'send'` (import it with `'recv'`) or `'recv'` (import it with `'send'`). */
  readonly dir: 'send' | 'recv';
}
