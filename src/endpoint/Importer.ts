import { BehaviorSubject, EMPTY, Observable, Subject, type Subscriber, type Subscription } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import { drain } from '../operators/drain.js';
import { sync } from '../operators/sync.js';
import { ValueCodec } from '../protocol/codec.js';
import { ByeReason } from '../protocol/frame.js';
import { DEFAULT_MAX_BINDINGS, DEFAULT_MAX_WINDOW } from '../protocol/limits.js';
import { AUTO_WINDOW } from '../session/AdaptiveWindow.js';
import type { Connection } from '../transport/Connection.js';
import { dialerFor, parseUrl } from '../transport/registry.js';
import { Link, type LinkOwner, type LinkSettings } from '../link/Link.js';
import { Session, type SessionHost } from '../session/Session.js';
import type { SyncPoint } from '../channel/Dispatcher.js';
import { ImportedSendChannel } from './ImportedSendChannel.js';
import type { SendQueueConfig } from '../channel/SendChannel.js';
import { TRACK, type HasTrackable, type Trackable } from '../channel/Trackable.js';
import { Signal } from '../util/Signal.js';
import { codecConfig, heldBudget, linkSettings, randomId, transportOptions, type EndpointConfig } from './EndpointConfig.js';
import { linkStats } from './Exporter.js';
import { EndTable } from '../ends/EndTable.js';
import { backoff, type ReconnectConfig } from './ReconnectConfig.js';
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
}

/** Options of a `'send'` import. */
export type ImportSendConfig = ImportConfig & SendQueueConfig;

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
  private readonly settings: LinkSettings;
  private readonly codec: ValueCodec;
  /** Channel ends that travelled inside values from here. */
  private readonly ends: EndTable;
  private readonly host: SessionHost;
  private readonly owner: LinkOwner;
  private readonly trackable: Trackable;
  private readonly reconnect: ReconnectConfig | null;
  private readonly dial: () => Connection;
  private session: Session;
  private link: Link | null = null;
  /** The session's id and secret token (chosen here, so a resume works even if the exporter's first answer was lost); null without reconnect. */
  private readonly resumeAs: { id: string; token: string } | null;
  /** The exporter has answered a HELLO of this session at least once. */
  private everOpen = false;
  private exporterInstance: string | null = null;
  private attempts = 0;
  private droppedAt = 0;
  private retry: Subscription | null = null;
  private lastError: NetchanError | undefined;
  /** Why it closed: an error, or null for a clean close; undefined while open. */
  private closedWith: NetchanError | null | undefined = undefined;
  private closing: Promise<void> | null = null;
  private readonly auth: unknown;
  private resolveClosed: (() => void) | null = null;

  /** Dials `url` (`tcp://`/`tls://` need `rx-netchan/node`; `ws://` works anywhere) and returns at once. */
  static connect(url: string, config: ImporterConfig = {}): Importer {
    const parsed = parseUrl(url);
    const dialer = dialerFor(parsed);
    const options = transportOptions(config);
    return new Importer(() => dialer(parsed, options), config);
  }

  /**
   * Imports over `conn`, or over the connections `dial` returns (one now, and
   * one per reconnection when `reconnect` is set).
   */
  constructor(conn: Connection | (() => Connection), config: ImporterConfig = {}) {
    this.settings = linkSettings(config);
    this.codec = new ValueCodec(codecConfig(config));
    this.ends = new EndTable(this.codec, heldBudget(config));
    this.codec.setEndHooks(this.ends);
    this.errors$ = this.errors.asObservable();
    this.state$ = this.stateSubject.asObservable();
    this.reconnects$ = this.reconnectEvents.asObservable();
    this.reconnect = config.reconnect === true ? {} : config.reconnect ? config.reconnect : null;
    this.resumeAs = this.reconnect === null ? null : { id: randomId(), token: randomId() };
    let first: Connection | null = typeof conn === 'function' ? null : conn;
    this.dial = typeof conn === 'function' ? conn : () => {
      if (first === null) throw new NetchanError('ECLOSED', 'cannot redial: this importer was given one connection; pass a function that returns a new Connection to reconnect');
      const c = first;
      first = null;
      return c;
    };
    this.host = {
      codec: this.codec,
      maxWindow: DEFAULT_MAX_WINDOW,
      maxBindings: DEFAULT_MAX_BINDINGS,
      resolve: (session, name, dir) => {
        if (typeof name === 'number') return this.ends.resolve(name, dir, session);
        throw new NetchanError('ENOCHAN', `no such channel on the importer: ${typeof name === 'string' ? `"${name}"` : String(name)}`);
      },
      report: (err) => this.errors.next(err),
    };
    this.owner = {
      hello: (link, options) => this.hello(link, options),
      linkError: (link, err) => {
        if (link === this.link) this.errors.next(err);
        this.lastError = err;
      },
      linkClosed: (link, err) => this.linkClosed(link, err),
    };
    this.trackable = {
      progress: this.progress,
      label: 'importer',
      scheduler: this.settings.scheduler,
      pending: () => {
        let n = 0;
        for (const s of this.sends) n += s.dispatcher.pending;
        return n;
      },
      syncPoint: (): SyncPoint => [...this.sends].flatMap((s) => s.dispatcher.syncPoint()),
      // A send import refused or failed by the exporter keeps its values pending: they will never be acknowledged.
      failure: () => this.failure() ?? [...this.sends].find((s) => s.dispatcher.state === 'errored' && s.pending > 0)?.dispatcher.failed ?? null,
    };
    this.auth = config.auth;
    this.session = new Session(this.host, 'dialer');
    this.open(config.auth, true);
  }

  /** The exporter this importer talks to. */
  get remote(): string {
    return this.link?.remote ?? this.session.remote;
  }

  get stats(): SessionStats {
    return linkStats(this.link);
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
    if (this.closing) return this.closing;
    this.closing = new Promise<void>((resolve) => (this.resolveClosed = resolve));
    this.retry?.unsubscribe();
    this.retry = null;
    if (this.link !== null && this.link.phase !== 'closed') this.link.close(ByeReason.Close);
    else this.finish(undefined);
    return this.closing;
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
    const imp = new RecvImport(name, size, count, config.ack === 'manual', subscriber, (r) => this.recvs.delete(r));
    this.recvs.add(imp);
    imp.bind(this.session);
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
    ch.bind(this.session);
    return ch;
  }

  // ---- connections ----

  /** Dials and starts a link. The first link carries the fresh session at once (imports pipeline behind HELLO); later ones wait for the exporter's answer. */
  private open(auth: unknown, first: boolean): void {
    let conn: Connection;
    try {
      conn = this.dial();
    } catch (e) {
      const err = e instanceof NetchanError ? e : new NetchanError('ECLOSED', `cannot connect: ${(e as Error).message}`, { cause: e });
      this.errors.next(err);
      this.lastError = err;
      if (first && this.reconnect === null) this.finish(err);
      else this.scheduleRetry();
      return;
    }
    const link = new Link(conn, this.settings, this.codec, this.owner);
    this.link = link;
    const resume = this.resumeAs ? { session: this.resumeAs.id, token: this.resumeAs.token, ctl: this.session.log.received } : undefined;
    link.sendHello({ ...(auth === undefined ? {} : { auth }), ...(resume === undefined ? {} : { resume }) });
    if (first) {
      link.attach(this.session);
      this.session.attach(link, null);
    }
    link.start();
  }

  private hello(link: Link, options: Record<string, unknown>): void {
    if (link !== this.link || this.closing) return;
    const instance = typeof options['instance'] === 'string' ? options['instance'] : null;
    const restarted = this.exporterInstance !== null && instance !== this.exporterInstance;
    this.exporterInstance = instance;
    if (link.session === null) {
      // A reconnection: resume the session, or start a new one and bind every live import afresh.
      const resumed = options['resumed'] === true && this.resumeAs !== null && options['session'] === this.resumeAs.id;
      if (resumed) {
        const ctl = options['ctl'];
        if (typeof ctl !== 'number' || !Number.isSafeInteger(ctl) || ctl < 0) throw new NetchanError('EPROTO', 'malformed HELLO frame: ctl');
        link.attach(this.session);
        this.session.attach(link, ctl);
      } else {
        const old = this.session;
        this.session = new Session(this.host, 'dialer');
        link.attach(this.session);
        this.session.attach(link, null);
        for (const r of [...this.recvs]) r.bind(this.session);
        for (const s of [...this.sends]) s.bind(this.session);
        // What else lived on the old session (channel ends inside values) cannot follow: it settles.
        old.close(new NetchanError('ECLOSED', `the exporter at ${link.remote} no longer had this session (${restarted ? 'it restarted' : 'past its resumeGrace'})`));
      }
      const event: ReconnectEvent = {
        type: resumed ? 'resumed' : 'new-session',
        exporterRestarted: restarted,
        attempts: this.attempts,
        downtime: this.settings.scheduler.now() - this.droppedAt,
      };
      this.attempts = 0;
      this.everOpen = true;
      this.setState('open');
      this.reconnectEvents.next(event);
      this.progress.emit();
      return;
    }
    this.attempts = 0;
    this.everOpen = true;
    this.setState('open');
  }

  private linkClosed(link: Link, err: NetchanError | undefined): void {
    if (link !== this.link) return;
    this.link = null;
    if (this.closing) return this.finish(undefined);
    const refused = err !== undefined && (err.code === 'EAUTH' || (err.code === 'EPROTO' && !link.established));
    if (this.reconnect !== null && !refused && link.byeReason !== ByeReason.Disconnect) {
      if (link.established || this.everOpen) {
        // Each gap shows on errors$, a goodbye from a restarting exporter too.
        if (err === undefined) this.errors.next(new NetchanError('ECLOSED', `${link.remote} closed the connection; reconnecting`));
        this.droppedAt = this.settings.scheduler.now();
      }
      this.session.detach();
      this.setState('reconnecting');
      this.scheduleRetry();
      return;
    }
    if (link.byeReason === ByeReason.Disconnect) {
      const e = new NetchanError('ECLOSED', `disconnected by the exporter at ${link.remote}`);
      this.errors.next(e);
      return this.finish(e);
    }
    this.finish(err);
  }

  private scheduleRetry(): void {
    const policy = this.reconnect!;
    this.attempts++;
    if (this.attempts > (policy.maxAttempts ?? Infinity)) {
      return this.finish(this.lastError ?? new NetchanError('ECLOSED', `gave up reconnecting after ${this.attempts - 1} attempt(s)`));
    }
    const wait = backoff(policy, this.attempts);
    this.retry = this.settings.scheduler.schedule(() => {
      this.retry = null;
      if (!this.closing) this.open(this.auth, false);
    }, wait);
  }

  /** Closed for good: `err` unset for a clean end (imports complete), else imports error with it. */
  private finish(err: NetchanError | undefined): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = err ?? null;
    this.retry?.unsubscribe();
    this.retry = null;
    this.session.close(err);
    this.ends.close(err ?? new NetchanError('ECLOSED', 'importer is closed'));
    this.setState('closed');
    this.stateSubject.complete();
    // sends stay listed: their unacknowledged values make drain fail with the reason.
    this.progress.emit();
    this.errors.complete();
    this.reconnectEvents.complete();
    this.resolveClosed?.();
    if (!this.closing) this.closing = Promise.resolve();
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
