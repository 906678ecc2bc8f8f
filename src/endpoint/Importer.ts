import { BehaviorSubject, EMPTY, Observable, Subject, map, timer, type SchedulerLike, type Subscriber } from 'rxjs';
import { ChannelMeter } from '../channel/ChannelMeter.js';
import type { StandardSchemaV1 } from '../channel/StandardSchema.js';
import { noHooks, type ObservationHooks } from '../observe/hooks.js';
import { SILENT_LOGGER } from '../observe/Logger.js';
import { QueryKind } from '../protocol/frame.js';
import type { ChannelListing, ChannelStats, ExporterMetrics, ImporterMetrics } from './Metrics.js';
import type { SyncPoint } from '../channel/Dispatcher.js';
import type { SendQueueConfig } from '../channel/SendChannel.js';
import { TRACK, type HasTrackable, type Trackable } from '../channel/Trackable.js';
import { EndTable } from '../ends/EndTable.js';
import { NetchanError } from '../errors/NetchanError.js';
import { drain } from '../operators/drain.js';
import { sync } from '../operators/sync.js';
import { ValueCodec } from '../protocol/codec.js';
import { AUTO_WINDOW } from '../protocol/limits.js';
import type { Connection } from '../transport/Connection.js';
import { dialerFor, parseUrl } from '../transport/registry.js';
import { Signal } from '../util/Signal.js';
import { importerBackendFor } from './backends.js';
import { DirectConnection } from './DirectConnection.js';
import { codecConfig, heldBudget, linkSettings, transportOptions, type EndpointConfig } from './EndpointConfig.js';
import { ImportedSendChannel } from './ImportedSendChannel.js';
import type { ImporterBackend, ImporterConnection, ImporterConnectionHost, ImporterState, ReconnectEvent } from './ImporterConnection.js';
import type { ReconnectConfig } from './ReconnectConfig.js';
import { RecvImport } from './RecvImport.js';
import type { SessionStats } from './SessionStats.js';

/** Options of an {@link Importer}. */
export interface ImporterConfig extends EndpointConfig {
  /** Credentials passed to the exporter's `authenticate` hook (any MessagePack value). */
  auth?: unknown;
  /** Transport extras for `Importer.connect()` (TLS `ca`, WebSocket `protocols`, …). */
  transport?: Record<string, unknown>;
  /**
   * Redial when the connection drops, and resume the session: `true` for the
   * defaults, or a {@link ReconnectConfig}. Defaults to off: one connection,
   * then the importer is closed.
   */
  reconnect?: boolean | ReconnectConfig;
}

/** Options of an import (`importChannel`). */
export interface ImportConfig {
  /** The acknowledgement window: most values in flight to or from this subscription. Defaults to 1024 (and at most 8 MiB of values in flight); `< 1` means 1. */
  size?: number;
  /** Import exactly this many values, then complete. Defaults to `-1`: unbounded. */
  count?: number;
}

/** Options of a `'recv'` import. */
export interface ImportRecvConfig extends ImportConfig {
  /**
   * `'auto'` (default): each value is acknowledged once your subscriber's `next` returns.
   * `'manual'`: the import emits {@link Delivery} objects, acknowledged when you call `ack()`.
   */
  ack?: 'auto' | 'manual';
  /**
   * A Standard Schema (Zod, Valibot, ArkType…) each value must pass; the import
   * emits the schema's output. An invalid value errors the subscription with
   * `'EINVAL'` (message: the channel and the path of the first issue; the value
   * is on the error as `value`); it is acknowledged, so it is never delivered
   * again, here or to another importer, and the values sent after it go back to
   * the exporter's queue. Asynchronous validators keep the order, and a value's
   * window credit returns only once it is validated and delivered. Defaults to none.
   */
  schema?: StandardSchemaV1;
}

/** Options of a `'send'` import. */
export type ImportSendConfig = ImportConfig & SendQueueConfig;

export type { ImporterState, ReconnectEvent } from './ImporterConnection.js';

/**
 * Connects to an Exporter and imports its channels by name, like Go's
 * `netchan.Importer`. Without `reconnect` it uses one connection and is closed
 * when that ends; with it, it redials and resumes, and imports stay subscribed
 * across the gap.
 *
 * ## Example
 * ```ts
 * import { Importer, importChannel } from 'rx-netchan';
 * import 'rx-netchan/node';
 *
 * const importer = Importer.connect('tcp://127.0.0.1:7000', { reconnect: true });
 * importChannel<string>(importer, 'jobs', 'recv').subscribe(console.log);
 * ```
 */
export class Importer implements HasTrackable {
  /** Transmission and protocol errors (Go's `Errors()`): each drop shows here as `'ECLOSED'`. Hot; completes when the importer closes. */
  readonly errors$: Observable<NetchanError>;
  /** `'connecting'`, `'open'`, `'reconnecting'`, `'closed'`: the current state on subscribe, then each change; completes after `'closed'`. */
  readonly state$: Observable<ImporterState>;
  /** One event per reconnection: resumed, or a new session. Hot; completes when the importer closes. */
  readonly reconnects$: Observable<ReconnectEvent>;
  private readonly errors = new Subject<NetchanError>();
  private readonly stateSubject = new BehaviorSubject<ImporterState>('connecting');
  private readonly reconnectEvents = new Subject<ReconnectEvent>();
  private readonly progress = new Signal();
  private readonly sends = new Set<ImportedSendChannel<unknown>>();
  private readonly recvs = new Set<RecvImport>();
  private readonly codec: ValueCodec;
  /** Channel ends that travelled inside values from here. */
  private readonly ends: EndTable;
  private readonly trackable: Trackable;
  private readonly connection: ImporterConnection;
  private readonly settings: { scheduler: SchedulerLike };
  /** Counters of `'recv'` imports, by channel name. */
  private readonly recvMeters = new Map<string, ChannelMeter>();
  /** @internal Set by an instrumentation (rx-netchan/otel). */
  readonly hooks: ObservationHooks = noHooks();
  /** Why it closed: an error, or null for a clean close; undefined while open. */
  private closedWith: NetchanError | null | undefined = undefined;

  /** Dials `url` (`tcp://`/`tls://` need `rx-netchan/node`; `ws://` works anywhere; `nats://` needs `rx-netchan/nats`) and returns at once. */
  static connect(url: string, config: ImporterConfig = {}): Importer {
    const parsed = parseUrl(url);
    const backend = importerBackendFor(parsed);
    if (backend) return new Importer({ backend, url: parsed }, config);
    const dialer = dialerFor(parsed);
    const options = transportOptions(config);
    return new Importer(() => dialer(parsed, options), config);
  }

  /**
   * Imports over `conn`, or over the connections `dial` returns (one now, and
   * one per reconnection when `reconnect` is set).
   */
  constructor(conn: Connection | (() => Connection) | { backend: ImporterBackend; url: URL }, config: ImporterConfig = {}) {
    const settings = linkSettings(config);
    this.settings = settings;
    this.codec = new ValueCodec(codecConfig(config));
    this.ends = new EndTable(this.codec, heldBudget(config));
    this.codec.setEndHooks(this.ends);
    this.errors$ = this.errors.asObservable();
    this.state$ = this.stateSubject.asObservable();
    this.reconnects$ = this.reconnectEvents.asObservable();
    this.trackable = {
      progress: this.progress,
      label: 'importer',
      scheduler: settings.scheduler,
      pending: () => {
        let n = 0;
        for (const s of this.sends) n += s.dispatcher.pending;
        return n;
      },
      syncPoint: (): SyncPoint => [...this.sends].flatMap((s) => s.dispatcher.syncPoint()),
      // A send import refused or failed by the exporter keeps its values pending: they will never be acknowledged.
      failure: () => this.failure() ?? [...this.sends].find((s) => s.dispatcher.state === 'errored' && s.pending > 0)?.dispatcher.failed ?? null,
    };
    const host: ImporterConnectionHost = {
      codec: this.codec,
      error: (err) => this.errors.next(err),
      state: (st) => this.setState(st),
      reconnected: (event, rebind) => {
        if (rebind) {
          const binder = this.connection.binder;
          for (const r of [...this.recvs]) r.bind(binder);
          for (const s of [...this.sends]) s.bind(binder);
        }
        this.reconnectEvents.next(event);
      },
      progress: () => this.progress.emit(),
      closed: (err) => this.finish(err),
    };
    if (typeof conn === 'object' && 'backend' in conn) {
      this.connection = conn.backend(conn.url, { ...config } as Record<string, unknown>, host);
    } else {
      let first: Connection | null = typeof conn === 'function' ? null : conn;
      const dial =
        typeof conn === 'function'
          ? conn
          : () => {
              if (first === null) throw new NetchanError('ECLOSED', 'cannot redial: this importer was given one connection; pass a function that returns a new Connection to reconnect');
              const c = first;
              first = null;
              return c;
            };
      const reconnect = config.reconnect === true ? {} : config.reconnect ? config.reconnect : null;
      this.connection = new DirectConnection(dial, settings, host, this.ends, config.auth, reconnect, config.logger ?? SILENT_LOGGER);
    }
  }

  /** The exporter this importer talks to. */
  get remote(): string {
    return this.connection.remote;
  }

  get stats(): SessionStats {
    return this.connection.stats;
  }

  /**
   * The channels the exporter offers this importer (a QUERY; filtered by the
   * exporter's `authorize`). Waits for the connection to open; rejects with
   * `'EAUTH'` if the exporter does not list channels (`listChannels: false`).
   */
  async listChannels(): Promise<ChannelListing[]> {
    const r = await this.ask(QueryKind.Channels);
    if (!Array.isArray(r)) throw new NetchanError('EPROTO', 'malformed channel list');
    return r.filter((c): c is ChannelListing => typeof c === 'object' && c !== null && typeof c.name === 'string' && (c.dir === 'send' || c.dir === 'recv'));
  }

  /**
   * The exporter's metrics (every client and channel; see `exporter.metrics()`),
   * if it publishes them (`remoteMetrics: true`) and its `authorize` allows
   * `'$metrics'`; else rejects with `'EAUTH'`.
   */
  async fetchMetrics(): Promise<ExporterMetrics> {
    const r = await this.ask(QueryKind.Metrics);
    if (typeof r !== 'object' || r === null || !Array.isArray((r as ExporterMetrics).clients) || !Array.isArray((r as ExporterMetrics).channels)) {
      throw new NetchanError('EPROTO', 'malformed metrics');
    }
    return r as ExporterMetrics;
  }

  private ask(what: string): Promise<unknown> {
    const q = this.connection.query;
    if (q === undefined) return Promise.reject(new NetchanError('EPROTO', 'this connection cannot ask the exporter'));
    return q.call(this.connection, what);
  }

  /**
   * A snapshot of this importer: its connection's counters (values and bytes in
   * and out, acknowledged, in flight, errors, round-trip time), its bindings,
   * and per channel name the same as `exporter.metrics()` gives. Each call also
   * sends a PING (if none is outstanding) so the round-trip time stays fresh.
   */
  metrics(): ImporterMetrics {
    this.connection.ping?.();
    const bindings = this.connection.bindings ?? [];
    const live = new Map<string, { window: number; inFlight: number; n: number }>();
    for (const b of bindings) {
      const e = live.get(`${b.dir}:${b.channel}`) ?? { window: 0, inFlight: 0, n: 0 };
      e.window += b.window;
      e.inFlight += b.inFlight;
      e.n++;
      live.set(`${b.dir}:${b.channel}`, e);
    }
    const channels: ChannelStats[] = [];
    for (const [name, m] of this.recvMeters) {
      const l = live.get(`recv:${name}`) ?? { window: 0, inFlight: 0, n: 0 };
      channels.push({ name, dir: 'recv', bindings: l.n, window: l.window, valuesIn: m.valuesIn, bytesIn: m.bytesIn, valuesOut: 0, bytesOut: 0, acked: m.delivered, inFlight: l.inFlight, queued: 0, dropped: 0, errors: m.errors });
    }
    const sends = new Map<string, ChannelStats>();
    for (const ch of this.sends) {
      const m = ch.meter;
      const d = ch.dispatcher;
      const prev = sends.get(ch.name);
      const l = live.get(`send:${ch.name}`) ?? { window: 0, inFlight: 0, n: 0 };
      sends.set(ch.name, {
        name: ch.name,
        dir: 'send',
        bindings: l.n,
        window: l.window,
        valuesIn: 0,
        bytesIn: 0,
        valuesOut: (prev?.valuesOut ?? 0) + m.valuesOut,
        bytesOut: (prev?.bytesOut ?? 0) + m.bytesOut,
        acked: (prev?.acked ?? 0) + m.acked,
        inFlight: (prev?.inFlight ?? 0) + d.pending - d.queued,
        queued: (prev?.queued ?? 0) + d.queued,
        dropped: (prev?.dropped ?? 0) + d.dropped,
        errors: (prev?.errors ?? 0) + m.errors,
      });
    }
    channels.push(...sends.values());
    return { at: this.settings.scheduler.now(), remote: this.remote, state: this.state, connection: this.stats, bindings, channels };
  }

  /** {@link metrics} every `intervalMs` (default 1,000), from subscription on; on the importer's scheduler. */
  metrics$(intervalMs = 1_000): Observable<ImporterMetrics> {
    return timer(0, intervalMs, this.settings.scheduler).pipe(map(() => this.metrics()));
  }

  /** The current state (see `state$`). */
  get state(): ImporterState {
    return this.stateSubject.value;
  }

  /** True once the importer has closed for good. */
  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Unbinds every import of `name`: receivers complete, senders complete (END). Throws `'ENOCHAN'` if none. */
  hangup(name: string): void {
    let found = false;
    for (const s of [...this.sends]) {
      // A send import already completed (an earlier hangup) stays listed for drain, but is no longer imported.
      if (s.name === name && !s.isStopped) {
        found = true;
        s.complete();
      }
    }
    for (const r of [...this.recvs]) {
      if (r.name === name) {
        found = true;
        r.hangup();
      }
    }
    if (!found) throw new NetchanError('ENOCHAN', `hangup: no import named "${name}"`);
  }

  /** Completes once every value this importer sent has been acknowledged by the exporter. */
  drain(timeoutMs?: number): Observable<void> {
    return EMPTY.pipe(drain<void>(this, timeoutMs ? { timeout: timeoutMs } : {}));
  }

  /** Completes once the exporter has acknowledged what this importer had sent when subscribed. */
  sync(timeoutMs?: number): Observable<void> {
    return EMPTY.pipe(sync<void>(this, timeoutMs ? { timeout: timeoutMs } : {}));
  }

  /**
   * Ends it all: no more attempts, the connection closes with a goodbye,
   * imports complete; values not yet acknowledged are abandoned (drain first).
   * Idempotent: every call returns the same Promise.
   */
  close(): Promise<void> {
    return this.connection.close();
  }

  /** @internal: a `'recv'` import subscription. */
  bindRecv(name: string, config: ImportRecvConfig, subscriber: Subscriber<unknown>): () => void {
    const fail = this.failure();
    if (fail) {
      subscriber.error(fail);
      return () => {};
    }
    const size = windowOf(config.size);
    const count = countOf(config.count);
    if (count === 0) {
      subscriber.complete();
      return () => {};
    }
    let meter = this.recvMeters.get(name);
    if (meter === undefined) this.recvMeters.set(name, (meter = new ChannelMeter()));
    const context = { meter, hooks: this.hooks, forget: (r: RecvImport) => this.recvs.delete(r) };
    const imp = new RecvImport(name, size, count, config.ack === 'manual', subscriber, context, config.schema);
    this.recvs.add(imp);
    imp.bind(this.connection.binder);
    return () => imp.unbind();
  }

  /** @internal: a `'send'` import. */
  openSend<T>(name: string, config: ImportSendConfig): ImportedSendChannel<T> {
    const ch = new ImportedSendChannel<T>(
      name,
      this.codec,
      this.progress,
      { ...config, size: windowOf(config.size), count: countOf(config.count) },
      () => this.failure(),
      {
        report: (err) => this.errors.next(err),
        done: (c) => this.sends.delete(c),
      },
    );
    const fail = this.failure();
    if (fail) {
      ch.dispatcher.stop('closed', fail);
      this.errors.next(fail);
      return ch;
    }
    // Listed while it can still have values pending (for drain); dropped once done.
    this.sends.add(ch as ImportedSendChannel<unknown>);
    ch.bind(this.connection.binder);
    return ch;
  }

  /** Closed for good: `err` unset for a clean end (imports complete), else imports error with it. */
  private finish(err: NetchanError | undefined): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = err ?? null;
    this.ends.close(err ?? new NetchanError('ECLOSED', 'importer is closed'));
    this.setState('closed');
    this.stateSubject.complete();
    // sends stay listed: their unacknowledged values make drain fail with the reason.
    this.progress.emit();
    this.errors.complete();
    this.reconnectEvents.complete();
  }

  private setState(s: ImporterState): void {
    if (this.stateSubject.value !== s && !this.stateSubject.closed) this.stateSubject.next(s);
  }

  private failure(): NetchanError | null {
    if (this.closedWith === undefined) return null;
    return this.closedWith ?? new NetchanError('ECLOSED', 'importer is closed');
  }

  /** @internal */
  [TRACK](): Trackable {
    return this.trackable;
  }
}

/** The window asked for: `size`, or AUTO_WINDOW (adaptive) when the user left it unset. */
function windowOf(size: number | undefined): number {
  return size === undefined ? AUTO_WINDOW : Math.max(1, Math.floor(size));
}

function countOf(count: number | undefined): number {
  return count === undefined || count < 0 ? -1 : Math.floor(count);
}
