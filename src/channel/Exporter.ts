import { EMPTY, Observable, Subject } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import { drain } from '../operators/drain.js';
import { sync } from '../operators/sync.js';
import { ValueCodec } from '../protocol/codec.js';
import { DEFAULT_MAX_BINDINGS, DEFAULT_MAX_WINDOW } from '../protocol/limits.js';
import type { Connection } from '../transport/Connection.js';
import { listenerFor, parseUrl, type Listener } from '../transport/registry.js';
import type { SyncPoint } from './Dispatcher.js';
import { sessionSettings, type EndpointConfig } from './EndpointConfig.js';
import { ExportedRecvChannel } from './ExportedRecvChannel.js';
import { SendChannel } from './ExportedSendChannel.js';
import { ExporterSession, type ExporterHost } from './ExporterSession.js';
import type { SessionSettings, SessionStats } from './Session.js';
import { Signal } from './Signal.js';
import { TRACK, type HasTrackable, type Trackable } from './Trackable.js';

/** Options of an {@link Exporter}. */
export interface ExporterConfig extends EndpointConfig {
  /** Largest `size` (window) an importer may ask for. Defaults to 65,536. */
  maxWindow?: number;
  /** Most bindings one connection may hold open. Defaults to 4,096. */
  maxBindings?: number;
  /**
   * Decides whether an importer may connect, from the `auth` value it passed in
   * its options. Return `false` to refuse it with `'EAUTH'`. Defaults to accepting all.
   */
  authenticate?: (auth: unknown, remote: string) => boolean;
  /** Transport extras for `listen()` (TLS `key`/`cert`, an `http.Server` as `server`, …). */
  transport?: Record<string, unknown>;
}

/** One connected importer, as `exporter.clients` reports it. */
export interface ClientInfo {
  readonly remote: string;
  /** Scheduler time (ms) when it connected. */
  readonly since: number;
  /** Bindings it holds open. */
  readonly bindings: number;
  readonly stats: SessionStats;
}

/**
 * Publishes channels by name and serves them to importers, like Go's
 * `netchan.Exporter`. Listen on a URL (with `rx-netchan/node` for TCP/TLS/WS) or
 * hand it connections with `serveConnection()`.
 *
 * ## Example
 * ```ts
 * import { Exporter, exportChannel } from 'rx-netchan';
 * import 'rx-netchan/node';
 *
 * const exporter = new Exporter();
 * const jobs = exportChannel<string>(exporter, 'jobs', 'send');
 * const { url } = await exporter.listen('tcp://127.0.0.1:0');
 * jobs.next('hello');
 * ```
 */
export class Exporter implements HasTrackable {
  /** Connection-level errors of every importer: bad frames, refused auth, drops. */
  readonly errors$: Observable<NetchanError>;
  private readonly errors = new Subject<NetchanError>();
  private readonly names = new Map<string, SendChannel<unknown> | ExportedRecvChannel<unknown>>();
  private readonly sessions = new Set<ExporterSession>();
  private readonly listeners = new Set<Listener>();
  private readonly settings: SessionSettings;
  private readonly progress = new Signal();
  private closed = false;
  /** @internal */
  readonly codec: ValueCodec;
  private readonly host: ExporterHost;
  private readonly trackable: Trackable;

  constructor(private readonly config: ExporterConfig = {}) {
    this.settings = sessionSettings(config);
    this.codec = new ValueCodec(this.settings.maxFrameBytes);
    this.errors$ = this.errors.asObservable();
    const auth = config.authenticate;
    this.host = {
      lookup: (name) => this.names.get(name),
      authenticate: (a, remote) => (auth ? auth(a, remote) === true : true),
      maxWindow: config.maxWindow ?? DEFAULT_MAX_WINDOW,
      maxBindings: config.maxBindings ?? DEFAULT_MAX_BINDINGS,
      sessionError: (_s, err) => this.errors.next(err),
      sessionClosed: (s) => {
        this.sessions.delete(s);
        // Completes errors$ in the scheduler's time (virtual under TestScheduler), not after a Promise.
        if (this.closed && this.sessions.size === 0) this.errors.complete();
      },
    };
    this.trackable = {
      progress: this.progress,
      label: 'exporter',
      scheduler: this.settings.scheduler,
      failure: () => (this.closed ? new NetchanError('ECLOSED', 'exporter is closed') : null),
      pending: () => {
        let n = 0;
        for (const ch of this.names.values()) if (ch instanceof SendChannel) n += ch.dispatcher.pending;
        for (const ch of this.retired) n += ch.dispatcher.pending;
        return n;
      },
      syncPoint: (): SyncPoint => {
        const all: Array<SyncPoint[number]> = [];
        for (const ch of this.names.values()) if (ch instanceof SendChannel) all.push(...ch.dispatcher.syncPoint());
        return all;
      },
    };
  }

  /** Completed send channels whose values are still in flight (for drain). */
  private readonly retired = new Set<SendChannel<unknown>>();

  /**
   * Starts accepting importers at `url`: `tcp://127.0.0.1:0`, `tls://…`, `ws://host:port/path`
   * (these need `rx-netchan/node`). Resolves with the bound URL, real port included.
   */
  async listen(url: string): Promise<{ url: string }> {
    if (this.closed) throw new NetchanError('ECLOSED', 'exporter is closed');
    const parsed = parseUrl(url);
    const listener = await listenerFor(parsed)(parsed, (conn) => this.serveConnection(conn), {
      maxFrameBytes: this.settings.maxFrameBytes,
      ...this.config.transport,
    });
    if (this.closed) {
      await listener.close();
      throw new NetchanError('ECLOSED', 'exporter closed while listening');
    }
    this.listeners.add(listener);
    return { url: listener.url };
  }

  /** Serves the exported channels on one already-open connection (Go's ServeConn). */
  serveConnection(conn: Connection): void {
    if (this.closed) {
      conn.close();
      return;
    }
    this.sessions.add(new ExporterSession(conn, this.settings, this.host));
  }

  /** Importers connected now. */
  get clients(): ClientInfo[] {
    return [...this.sessions].map((s) => ({ remote: s.remote, since: s.since, bindings: s.bindings, stats: s.stats }));
  }

  /** Unexports `name` and completes the channel; importers complete. Throws `'ENOCHAN'` if unknown. */
  hangup(name: string): void {
    const ch = this.names.get(name);
    if (ch === undefined) throw new NetchanError('ENOCHAN', `hangup: no such channel: "${name}"`);
    this.names.delete(name);
    if (ch instanceof SendChannel) {
      ch.dispatcher.hangup();
      ch.complete();
      this.retire(ch);
    } else {
      ch.hangup();
    }
  }

  /** Completes once every value sent on this exporter's channels has been acknowledged (Go's Drain). */
  drain(timeoutMs?: number): Observable<void> {
    return EMPTY.pipe(drain<void>(this, timeoutMs ? { timeout: timeoutMs } : {}));
  }

  /** Completes once every receiver has acknowledged what was sent to it before subscribing (Go's Sync). */
  sync(timeoutMs?: number): Observable<void> {
    return EMPTY.pipe(sync<void>(this, timeoutMs ? { timeout: timeoutMs } : {}));
  }

  /** Stops listening, ends every connection, releases every timer and socket. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    const ls = [...this.listeners];
    this.listeners.clear();
    const closing = [...this.sessions].map((s) => s.close());
    // Synchronously, so drain/sync and errors$ see the close in scheduler time (marble tests), not a microtask later.
    this.progress.emit();
    if (this.sessions.size === 0) this.errors.complete();
    await Promise.all([...ls.map((l) => l.close()), ...closing]);
    this.errors.complete();
  }

  /** @internal */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal */
  register(name: string, ch: SendChannel<unknown> | ExportedRecvChannel<unknown>): void {
    if (this.closed) throw new NetchanError('ECLOSED', `cannot export "${name}": exporter is closed`);
    if (this.names.has(name)) throw new NetchanError('EEXIST', `channel name already exported: "${name}"`);
    this.names.set(name, ch);
  }

  /** @internal */
  get settingsForChannels(): { progress: Signal; report: (e: NetchanError) => void } {
    return { progress: this.progress, report: (e) => this.errors.next(e) };
  }

  private retire(ch: SendChannel<unknown>): void {
    if (ch.dispatcher.pending === 0) return;
    this.retired.add(ch);
    const stop = ch.dispatcher.progress.listen(() => {
      if (ch.dispatcher.pending === 0) {
        this.retired.delete(ch);
        stop();
      }
    });
  }

  /** @internal */
  [TRACK](): Trackable {
    return this.trackable;
  }
}
