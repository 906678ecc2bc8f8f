import { EMPTY, Observable, Subject, map, startWith, timer } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import { drain } from '../operators/drain.js';
import { sync } from '../operators/sync.js';
import { ValueCodec } from '../protocol/codec.js';
import { ByeReason, QueryKind } from '../protocol/frame.js';
import { DEFAULT_DISCONNECT_GRACE_MS, DEFAULT_MAX_BINDINGS, DEFAULT_MAX_WINDOW, DEFAULT_RESUME_GRACE_MS } from '../protocol/limits.js';
import type { Connection } from '../transport/Connection.js';
import { listenerFor, parseUrl, type Listener } from '../transport/registry.js';
import { Link, isRecord, type LinkOwner, type LinkSettings } from '../link/Link.js';
import { Session, type OpenTarget, type SessionHost } from '../session/Session.js';
import { Inbound } from '../session/Inbound.js';
import { Outbound } from '../session/Outbound.js';
import { refuseLane } from '../session/refuseLane.js';
import type { SyncPoint } from '../channel/Dispatcher.js';
import { ExportedRecvChannel, type HeldBudget, type RefuseLane } from '../channel/ExportedRecvChannel.js';
import { SendChannel } from '../channel/SendChannel.js';
import { TRACK, type HasTrackable, type Trackable } from '../channel/Trackable.js';
import { EndTable } from '../ends/EndTable.js';
import { diagnostics } from '../observe/diagnostics.js';
import { SILENT_LOGGER, type Logger } from '../observe/Logger.js';
import { noHooks, type ObservationHooks } from '../observe/hooks.js';
import { exporterBackendFor } from './backends.js';
import type { ExportedChannelRef, ExportedChannels } from './ExportedChannels.js';
import { ExporterClient, type ClientInfo, type ClientOwner } from './ExporterClient.js';
import type { ChannelListing, ChannelStats, ClientStats, ExporterMetrics } from './Metrics.js';
import { channelStats, forRemote } from './exporterMetrics.js';
import { Signal } from '../util/Signal.js';
import { codecConfig, heldBudget, linkSettings, randomId, transportOptions, type EndpointConfig } from './EndpointConfig.js';

export type { ClientInfo } from './ExporterClient.js';

/** Options of an {@link Exporter}. */
export interface ExporterConfig extends EndpointConfig {
  /** Largest `size` (window) an importer may ask for. Defaults to 65,536. */
  maxWindow?: number;
  /** Most bindings one connection may hold open. Defaults to 4,096. */
  maxBindings?: number;
  /**
   * Decides whether an importer may connect, from the `auth` value it passed in
   * its options. Return `false` (or `null`/`undefined`) to refuse it with
   * `'EAUTH'`; anything else accepts it and becomes the client's `identity`
   * (return a user record, say). May return a Promise: frames the importer sends
   * meanwhile wait (at most 1 MiB), and `handshakeTimeout` still applies. A
   * hook that throws refuses. Defaults to accepting all.
   */
  authenticate?: (auth: unknown, remote: string) => unknown;
  /**
   * Decides, for every binding a client opens, whether it may: `client` is the
   * {@link ClientInfo} (with its `identity`), `name` the channel, `dir` the
   * exported channel's direction (`'send'`: the client would receive from it,
   * `'recv'`: it would send into it). `false` (or a Promise of it, or a throw)
   * refuses that binding alone with `'EAUTH'` naming the channel; the connection
   * and the client's other bindings go on. While a Promise is pending, values
   * the client sends on that binding wait, bounded by its window. It also
   * filters `listChannels()` (`rx-netchan ls`), and decides remote metrics as
   * `authorize(client, '$metrics', 'send')`. Defaults to allowing all.
   */
  authorize?: (client: ClientInfo, name: string, dir: 'send' | 'recv') => boolean | Promise<boolean>;
  /**
   * Ms the exporter keeps the session of an importer that connected with
   * `reconnect` and vanished, for it to resume: its bindings keep their values
   * in flight meanwhile. Past it, those values go back to their queues.
   * Defaults to 30,000.
   */
  resumeGrace?: number;
  /** Answer `importer.listChannels()` (`rx-netchan ls`), filtered by `authorize`. Defaults to `true`. */
  listChannels?: boolean;
  /**
   * Answer `importer.fetchMetrics()` (`rx-netchan stat`) with this exporter's
   * metrics (every client and channel), to clients that `authorize(client,
   * '$metrics', 'send')` allows. Defaults to `false`.
   */
  remoteMetrics?: boolean;
  /** Transport extras for `listen()` (TLS `key`/`cert`, an `http.Server` as `server`, …). */
  transport?: Record<string, unknown>;
}

/** `'open'`, `'closing'` once close() was called, `'closed'` once every connection is gone. */
type ExporterState = 'open' | 'closing' | 'closed';

/** Clients and channels listed in a remote metrics snapshot, at most (a reply must stay well within the decoding limits). */
const REMOTE_METRICS_MAX = 500;

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
  /** Connection-level errors of every importer: bad frames, refused auth, drops. Completes once the exporter has closed. */
  readonly errors$: Observable<NetchanError>;
  /**
   * The clients now ({@link clients}), on subscribe and again each time one
   * connects, completes its handshake, drops (waiting to resume), resumes,
   * starts disconnecting or is gone. Completes once the exporter has closed.
   * Counters inside each {@link ClientInfo} are live and change without an
   * emission: sample them, or use {@link metrics$}.
   */
  readonly clients$: Observable<readonly ClientInfo[]>;
  private readonly errors = new Subject<NetchanError>();
  private readonly clientsChanged = new Subject<void>();
  private readonly names = new Map<string, SendChannel<unknown> | ExportedRecvChannel<unknown>>();
  private readonly clientsBySession = new Map<Session, ExporterClient>();
  private readonly resumable = new Map<string, ExporterClient>();
  /** Sessions disconnected on purpose, until when: a resume of one is answered with a goodbye. */
  private readonly disconnected = new Map<string, number>();
  private readonly links = new Set<Link>();
  /** Connections whose HELLO has not been accepted yet: listed as clients too (a crowd of silent strangers should show). */
  private readonly handshaking = new Map<Link, ExporterClient>();
  private readonly listeners = new Set<Listener>();
  private readonly settings: LinkSettings;
  private readonly progress = new Signal();
  private state: ExporterState = 'open';
  private closing: Promise<void> | null = null;
  private closed: (() => void) | null = null;
  /** Identifies this exporter process to reconnecting importers (a new one means a restart). */
  readonly instance = randomId(8);
  /** @internal Set by an instrumentation (rx-netchan/otel). */
  readonly hooks: ObservationHooks = noHooks();
  /** @internal */
  readonly codec: ValueCodec;
  private readonly budget: HeldBudget;
  /** Channel ends that travelled inside values from here. */
  private readonly ends: EndTable;
  private readonly host: SessionHost;
  private readonly owner: LinkOwner;
  private readonly clientOwner: ClientOwner;
  private readonly trackable: Trackable;
  private readonly log: Logger;
  /** Completed send channels whose values are still in flight (for drain and sync). */
  private readonly retired = new Set<SendChannel<unknown>>();

  constructor(private readonly config: ExporterConfig = {}) {
    // Its HELLO announces the same maxWindow it enforces on OPENs.
    this.settings = { ...linkSettings(config), maxWindow: config.maxWindow ?? DEFAULT_MAX_WINDOW };
    this.codec = new ValueCodec(codecConfig(config));
    this.budget = heldBudget(config);
    this.ends = new EndTable(this.codec, this.budget);
    this.codec.setEndHooks(this.ends);
    this.log = config.logger ?? SILENT_LOGGER;
    this.errors$ = this.errors.asObservable();
    this.clients$ = this.clientsChanged.pipe(
      startWith(undefined),
      map(() => this.clients),
    );
    this.host = {
      codec: this.codec,
      maxWindow: config.maxWindow ?? DEFAULT_MAX_WINDOW,
      maxBindings: config.maxBindings ?? DEFAULT_MAX_BINDINGS,
      resolve: (session, name, dir) => this.resolveOpen(session, name, dir),
      report: (err) => this.report(err),
      bound: (session, b) => this.bindingEvent(session, b, true),
      unbound: (session, b) => this.bindingEvent(session, b, false),
      refused: (session, name, code, message) => this.refusedEvent(session, name, code, message),
    };
    this.owner = {
      hello: (link, options) => this.hello(link, options),
      query: (link, what) => this.answerQuery(link, what),
      linkError: (link, err) => this.report(err, this.clientOf(link)),
      linkClosed: (link, err) => this.linkClosed(link, err),
    };
    this.clientOwner = {
      disconnectClient: (c, grace) => this.disconnectClient(c, grace),
      cancelBindings: (c, binding) => this.cancelBindings(c, binding),
    };
    this.trackable = {
      progress: this.progress,
      label: 'exporter',
      scheduler: this.settings.scheduler,
      failure: () => (this.state !== 'open' ? new NetchanError('ECLOSED', 'exporter is closed') : null),
      pending: () => {
        let n = 0;
        for (const ch of this.sendChannels()) n += ch.dispatcher.pending;
        return n;
      },
      syncPoint: (): SyncPoint => [...this.sendChannels()].flatMap((ch) => ch.dispatcher.syncPoint()),
    };
  }

  /**
   * Starts accepting importers at `url`: `tcp://127.0.0.1:0`, `tls://…`, `ws://host:port/path`
   * (these need `rx-netchan/node`). Resolves with the bound URL, real port included.
   */
  async listen(url: string): Promise<{ url: string }> {
    if (this.state !== 'open') throw new NetchanError('ECLOSED', 'exporter is closed');
    const parsed = parseUrl(url);
    const backend = exporterBackendFor(parsed);
    const listener = backend
      ? await backend(parsed, this.exportedChannels(), { ...this.config })
      : await listenerFor(parsed)(parsed, (conn) => this.serveConnection(conn), transportOptions(this.config));
    if (this.state !== 'open') {
      await listener.close();
      throw new NetchanError('ECLOSED', 'exporter closed while listening');
    }
    this.listeners.add(listener);
    this.log.info({ url: listener.url }, 'listening');
    return { url: listener.url };
  }

  /**
   * Stops accepting new connections on every URL it listens on; connected
   * importers go on. The first step of a graceful shutdown (see the README).
   */
  async stopListening(): Promise<void> {
    const closing: Array<Promise<void>> = [];
    for (const l of [...this.listeners]) {
      if (l.stop) {
        l.stop(); // still listed: close() releases it
      } else {
        this.listeners.delete(l);
        closing.push(l.close());
      }
    }
    await Promise.all(closing);
    this.log.info({}, 'stopped listening');
  }

  /** Serves the exported channels on one already-open connection (Go's ServeConn). */
  serveConnection(conn: Connection): void {
    if (this.state !== 'open') {
      conn.close();
      return;
    }
    const link = new Link(conn, this.settings, this.codec, this.owner);
    this.links.add(link);
    const client = new ExporterClient(randomId(), this.settings.scheduler.now(), link, this.log, this.clientOwner);
    this.handshaking.set(link, client);
    client.log.debug({}, 'connection accepted');
    link.start();
    this.changed();
  }

  /**
   * The clients: importers connected now (those still in the handshake too),
   * and those whose session waits for them to resume. Each is live; see {@link ClientInfo}.
   */
  get clients(): ClientInfo[] {
    return [...this.handshaking.values(), ...this.clientsBySession.values()];
  }

  /**
   * Graceful disconnect of every client (see `ClientInfo.disconnect`): no new
   * values, no new bindings; values in flight may be acknowledged for `grace`
   * ms (default 5,000), then each connection closes with a goodbye and what is
   * unacknowledged goes back to the queue. Resolves once every client that was
   * there is gone. It does not stop listening: see `stopListening()`.
   */
  disconnect(grace?: number): Promise<void> {
    const all = this.clients as ExporterClient[];
    for (const c of all) this.disconnectClient(c, grace);
    return Promise.all(all.map((c) => c.gone)).then(() => undefined);
  }

  /**
   * A snapshot of every client and channel: values and bytes in and out,
   * acknowledged, in flight, queued, windows, round-trip times, errors. Each
   * call also sends a PING on each connection that has none outstanding, so
   * round-trip times stay fresh while traffic flows.
   */
  metrics(): ExporterMetrics {
    for (const link of this.links) link.ping();
    const clients: ClientStats[] = (this.clients as ExporterClient[]).map((c) => ({
      id: c.id,
      remote: c.remote,
      since: c.since,
      state: c.state,
      connected: c.connected,
      ...(typeof c.identity === 'string' ? { identity: c.identity } : {}),
      rtt: c.rtt,
      stats: c.stats,
      bindings: c.bindings,
      bindingStats: c.bindingStats,
    }));
    return { at: this.settings.scheduler.now(), instance: this.instance, clients, channels: this.channelStats() };
  }

  /** {@link metrics} every `intervalMs` (default 1,000), from subscription on; on the exporter's scheduler. */
  metrics$(intervalMs = 1_000): Observable<ExporterMetrics> {
    return timer(0, intervalMs, this.settings.scheduler).pipe(map(() => this.metrics()));
  }

  /** Unexports `name` and completes the channel; importers complete. Throws `'ENOCHAN'` if unknown. */
  hangup(name: string): void {
    const ch = this.names.get(name);
    if (ch === undefined) throw new NetchanError('ENOCHAN', `hangup: no such channel: "${name}"`);
    this.names.delete(name);
    for (const w of this.watchers) w.hungUp(name);
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

  /**
   * Stops listening, says goodbye to every importer (those with `reconnect`
   * will try again: a restart is a reason to redial), ends every connection
   * and releases every timer and socket. Exported channels end: a send
   * channel's `next()` throws `'ECLOSED'`, and drain fails with `'ECLOSED'` if
   * values were still unacknowledged. Idempotent: every call returns the same Promise.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.state = 'closing';
    const done = new Promise<void>((resolve) => (this.closed = resolve));
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const link of [...this.links]) link.close(ByeReason.Close);
    for (const c of [...this.clientsBySession.values()]) if (c.link === null) this.endClient(c, undefined);
    const reason = new NetchanError('ECLOSED', 'exporter is closed');
    for (const ch of this.names.values()) {
      if (ch instanceof SendChannel) ch.endpointClosed(reason);
      else ch.endpointClosed();
    }
    for (const ch of this.retired) ch.endpointClosed(reason);
    this.ends.close(reason);
    // Synchronously, so drain/sync and errors$ see the close in scheduler time (marble tests), not a microtask later.
    this.progress.emit();
    this.maybeClosed();
    this.closing = Promise.all([...listeners.map((l) => l.close()), done]).then(() => undefined);
    return this.closing;
  }

  /** @internal */
  register(name: string, ch: SendChannel<unknown> | ExportedRecvChannel<unknown>): void {
    if (this.state !== 'open') throw new NetchanError('ECLOSED', `cannot export "${name}": exporter is closed`);
    if (this.names.has(name)) throw new NetchanError('EEXIST', `channel name already exported: "${name}"`);
    this.names.set(name, ch);
    for (const w of this.watchers) w.exported(channelRef(name, ch));
  }

  /** Channel-level backends (NATS) this exporter listens on, told of every export and hangup. */
  private readonly watchers = new Set<{ exported(ref: ExportedChannelRef): void; hungUp(name: string): void }>();

  /** What a channel-level backend gets from this exporter. */
  private exportedChannels(): ExportedChannels {
    return {
      codec: this.codec,
      budget: this.budget,
      instance: this.instance,
      report: (err) => this.report(err),
      watch: (listener) => {
        this.watchers.add(listener);
        for (const [name, ch] of this.names) listener.exported(channelRef(name, ch));
        return () => this.watchers.delete(listener);
      },
    };
  }

  /** @internal */
  get forChannels(): { progress: Signal; report: (e: NetchanError) => void; budget: HeldBudget; refuse: RefuseLane; hooks: ObservationHooks } {
    return { progress: this.progress, report: (e) => this.report(e), budget: this.budget, refuse: refuseLane, hooks: this.hooks };
  }

  // ---- connections and sessions ----

  private hello(link: Link, options: Record<string, unknown>): void | Promise<void> {
    const client = this.handshaking.get(link);
    if (this.state !== 'open' || client === undefined) throw new NetchanError('ECLOSED', 'exporter is closing');
    const resume = parseResume(options);
    if (resume !== null && (this.disconnected.get(resume.id) ?? -1) >= this.settings.scheduler.now()) {
      // Sent away on purpose: no resume, no new session; the goodbye makes it close for good.
      client.log.info({}, 'resume refused: this session was disconnected');
      link.close(ByeReason.Disconnect);
      return;
    }
    const auth = this.config.authenticate;
    if (auth === undefined) return this.admit(link, client, resume, true);
    let verdict: unknown;
    try {
      verdict = auth(options['auth'], link.remote);
    } catch (e) {
      throw this.refusedAuth(client, e);
    }
    if (!isPromise(verdict)) return this.admit(link, client, resume, verdict);
    return verdict.then(
      (v) => this.admit(link, client, resume, v),
      (e: unknown) => {
        throw this.refusedAuth(client, e);
      },
    );
  }

  private refusedAuth(client: ExporterClient, cause?: unknown): NetchanError {
    const why = cause === undefined ? '' : `: ${cause instanceof Error ? cause.message : String(cause)}`;
    client.log.warn({}, 'authentication refused');
    return new NetchanError('EAUTH', `importer at ${client.link?.remote ?? client.remote} was refused by the exporter's authenticate hook${why}`, cause === undefined ? undefined : { cause });
  }

  /** The HELLO is accepted (authenticate said `verdict`): resume the named session, or start one. */
  private admit(link: Link, client: ExporterClient, resume: ResumeRequest | null, verdict: unknown): void {
    if (link.phase !== 'open') return; // gone while authenticate decided
    if (this.state !== 'open') throw new NetchanError('ECLOSED', 'exporter is closing');
    if (verdict === false || verdict === null || verdict === undefined) throw this.refusedAuth(client);
    this.handshaking.delete(link);
    const found = resume ? this.resumable.get(resume.id) : undefined;
    if (found && resume) {
      if (found.session!.token !== resume.token) {
        client.finish();
        this.changed();
        throw new NetchanError('EAUTH', `importer at ${link.remote} asked to resume a session with the wrong token`);
      }
      client.finish(); // the handshake's record gives way to the session's
      this.takeOver(found, link);
      link.sendHello({ session: resume.id, resumed: true, ctl: found.session!.log.received, instance: this.instance, queries: true });
      link.attach(found.session!);
      found.session!.attach(link, resume.ctl);
      found.log.info({}, 'client resumed');
      this.connectionEvent(found, true);
      this.changed();
      return;
    }
    const session = new Session(this.host, 'listener');
    client.session = session;
    client.identity = this.config.authenticate ? verdict : undefined;
    client.phase = 'open';
    this.clientsBySession.set(session, client);
    if (resume) {
      session.id = resume.id;
      session.token = resume.token;
      this.resumable.set(resume.id, client);
      link.sendHello({ session: resume.id, resumed: false, ctl: 0, instance: this.instance, queries: true });
    } else {
      link.sendHello({ instance: this.instance, queries: true });
    }
    link.attach(session);
    session.attach(link, null);
    client.log.info({}, 'client connected');
    this.connectionEvent(client, true);
    this.changed();
  }

  /** A resuming importer's new link replaces the old one (which may not have noticed the drop yet). */
  private takeOver(c: ExporterClient, link: Link): void {
    c.grace?.unsubscribe();
    c.grace = null;
    const old = c.link;
    c.link = link;
    c.session!.detach();
    old?.abandon(new NetchanError('ECLOSED', `connection replaced: the importer resumed from ${link.remote}`));
  }

  private linkClosed(link: Link, err: NetchanError | undefined): void {
    this.links.delete(link);
    const pending = this.handshaking.get(link);
    if (pending !== undefined) {
      this.handshaking.delete(link);
      pending.finish();
      this.connectionEvent(pending, false, err);
      this.changed();
    }
    const session = link.session;
    const c = session ? this.clientsBySession.get(session) : undefined;
    if (c !== undefined && c.link === link) {
      c.link = null;
      // A drop (not a goodbye, not a protocol violation, not a disconnect) of a resumable session: keep it for a while.
      const drop = err !== undefined && (err.code === 'ECLOSED' || err.code === 'ETIMEDOUT');
      if (drop && c.session!.id !== null && this.state === 'open' && c.phase === 'open') {
        c.session!.detach();
        const grace = this.config.resumeGrace ?? DEFAULT_RESUME_GRACE_MS;
        c.log.info({ code: err.code, grace }, 'connection lost; session kept for a resume');
        c.grace = this.settings.scheduler.schedule(() => {
          c.grace = null;
          this.endClient(c, new NetchanError('ECLOSED', `session of ${c.session!.remote} expired: no resume within ${grace} ms (resumeGrace)`));
        }, grace);
        this.changed();
      } else {
        this.endClient(c, err);
      }
    }
    this.maybeClosed();
  }

  /** The session is over: its bindings are lost (values in flight go back to their queues). */
  private endClient(c: ExporterClient, err: NetchanError | undefined): void {
    const session = c.session!;
    c.finish();
    session.close(err); // while still listed: its bindings' closes are logged under the client
    this.clientsBySession.delete(session);
    if (session.id !== null) this.resumable.delete(session.id);
    if (err) c.log.info({ code: err.code, error: err.message }, 'client gone');
    else c.log.info({}, 'client gone');
    this.connectionEvent(c, false, err);
    this.progress.emit();
    this.changed();
    this.maybeClosed();
  }

  private maybeClosed(): void {
    if (this.state === 'open' || this.links.size > 0) return;
    for (const c of [...this.clientsBySession.values()]) this.endClient(c, undefined);
    if (this.state === 'closing') {
      this.state = 'closed';
      // Completes errors$ in the scheduler's time (virtual under TestScheduler), not after a Promise.
      this.errors.complete();
      this.clientsChanged.complete();
      this.closed?.();
    }
  }

  // ---- operating on clients ----

  private disconnectClient(c: ExporterClient, grace: number | undefined): void {
    if (c.phase === 'gone') return;
    const ms = Math.max(0, grace ?? DEFAULT_DISCONNECT_GRACE_MS);
    if (c.phase === 'handshake') {
      c.link?.close(ByeReason.Disconnect);
      return;
    }
    const session = c.session!;
    if (session.id !== null) this.forbidResume(session.id);
    if (c.link === null) return this.endClient(c, undefined); // detached: nothing in flight can be acknowledged now
    const now = this.settings.scheduler.now();
    if (now + ms >= c.disconnectBy) return; // already disconnecting, sooner
    c.disconnectBy = now + ms;
    c.disconnectTimer?.unsubscribe();
    c.disconnectTimer = null;
    if (c.phase === 'open') {
      c.phase = 'disconnecting';
      c.log.info({ grace: ms }, 'disconnecting');
      this.changed();
      session.quiesce(() => this.goodbye(c));
    }
    if (c.phase === 'disconnecting') c.disconnectTimer = this.settings.scheduler.schedule(() => this.goodbye(c), ms);
  }

  /** The end of a graceful disconnect: BYE `'disconnect'`; once the connection is gone, what is unacknowledged is requeued. */
  private goodbye(c: ExporterClient): void {
    c.disconnectTimer?.unsubscribe();
    c.disconnectTimer = null;
    if (c.phase !== 'disconnecting') return;
    c.link?.close(ByeReason.Disconnect);
  }

  /** A resume of session `id` is refused for a resume grace from now. */
  private forbidResume(id: string): void {
    const now = this.settings.scheduler.now();
    for (const [k, until] of this.disconnected) if (until < now) this.disconnected.delete(k);
    this.disconnected.set(id, now + (this.config.resumeGrace ?? DEFAULT_RESUME_GRACE_MS));
  }

  private cancelBindings(c: ExporterClient, which: number | string): number {
    const session = c.session;
    if (session === null || c.phase === 'gone') return 0;
    let n = 0;
    for (const b of [...session.bindings.values()]) {
      if (typeof which === 'number' ? b.id !== which : b.channel !== which) continue;
      const err = new NetchanError('ECLOSED', `channel "${b.channel}": binding cancelled by the exporter`);
      if (b instanceof Outbound) session.cancelOutbound(b, err);
      else session.refuseInbound(b, err, false);
      c.log.info({ binding: b.id, channel: b.channel }, 'binding cancelled');
      n++;
    }
    return n;
  }

  // ---- bindings ----

  /** What a peer's OPEN binds to: a channel end, or a named channel the client is allowed. */
  private resolveOpen(session: Session, name: unknown, dir: 'send' | 'recv'): OpenTarget | Promise<OpenTarget> {
    const c = this.clientsBySession.get(session);
    if (c !== undefined && c.phase !== 'open') {
      throw new NetchanError('ECLOSED', `${typeof name === 'string' ? `channel "${name}"` : 'channel end'}: this client is being disconnected`);
    }
    if (typeof name === 'number') return this.ends.resolve(name, dir, session);
    if (typeof name !== 'string') throw new NetchanError('ENOCHAN', `no such channel: ${String(name)}`);
    const ch = this.channel(name);
    const authorize = this.config.authorize;
    if (authorize === undefined || c === undefined) return this.resolve(name, dir);
    const verdict = ask(() => authorize(c, name, ch instanceof ExportedRecvChannel ? 'recv' : 'send'));
    if (!isPromise(verdict)) {
      if (verdict !== true) throw refusedBinding(name, verdict);
      return this.resolve(name, dir);
    }
    return verdict.then((v) => {
      if (v !== true) throw refusedBinding(name, v);
      if (c.phase !== 'open') throw new NetchanError('ECLOSED', `channel "${name}": this client is being disconnected`);
      return this.resolve(name, dir); // again: it may have been hung up meanwhile
    });
  }

  private channel(name: string): SendChannel<unknown> | ExportedRecvChannel<unknown> {
    const ch = this.names.get(name);
    if (ch === undefined) throw new NetchanError('ENOCHAN', `no such channel: "${name}"`);
    return ch;
  }

  /** What a peer's OPEN of `name` binds to. */
  private resolve(name: string, dir: 'send' | 'recv'): OpenTarget {
    const ch = this.channel(name);
    if (ch instanceof ExportedRecvChannel) {
      if (dir !== 'recv') throw new NetchanError('EDIR', `wrong direction for channel "${name}": it is exported for 'recv', so import it with 'send'`);
      return { dir: 'recv', sink: ch.sink, attach: (inb) => ch.addInbound(inb) };
    }
    if (dir !== 'send') throw new NetchanError('EDIR', `wrong direction for channel "${name}": it is exported for 'send', so import it with 'recv'`);
    const d = ch.dispatcher;
    return { dir: 'send', owner: ch.laneOwner, attach: (out) => d.attach(out) };
  }

  private bindingEvent(session: Session, b: Inbound | Outbound, open: boolean): void {
    const c = this.clientsBySession.get(session);
    const dir = b instanceof Inbound ? 'recv' : 'send';
    if (c !== undefined) c.log.debug({ binding: b.id, channel: b.channel, dir, window: b.window }, open ? 'binding opened' : 'binding closed');
    const d = diagnostics();
    const ch = d === null ? null : open ? d.bindingOpen : d.bindingClose;
    if (ch?.hasSubscribers) ch.publish({ client: c?.id, binding: b.id, channel: b.channel, dir, window: b.window });
  }

  private refusedEvent(session: Session, name: unknown, code: string, message: string): void {
    const c = this.clientsBySession.get(session);
    const channel = typeof name === 'string' ? name : `end ${String(name)}`;
    const ch = this.names.get(channel);
    if (ch !== undefined) ch.meter.errors++;
    c?.log.warn({ channel, code, error: message }, 'binding refused');
    const d = diagnostics();
    if (d?.bindingRefuse.hasSubscribers) d.bindingRefuse.publish({ client: c?.id, channel, code, message });
  }

  private connectionEvent(c: ExporterClient, open: boolean, error?: NetchanError): void {
    const d = diagnostics();
    const ch = d === null ? null : open ? d.connectionOpen : d.connectionClose;
    if (ch?.hasSubscribers) ch.publish({ endpoint: 'exporter', client: c.id, remote: c.remote, ...(error ? { error } : {}) });
  }

  // ---- queries (rx-netchan ls, stat) ----

  private answerQuery(link: Link, what: unknown): unknown {
    const c = link.session ? this.clientsBySession.get(link.session) : undefined;
    if (c === undefined) throw new NetchanError('ECLOSED', 'no session');
    if (what === QueryKind.Channels) {
      if (this.config.listChannels === false) throw new NetchanError('EAUTH', 'this exporter does not list its channels (listChannels: false)');
      const all: ChannelListing[] = [...this.names].map(([name, ch]) => ({ name, dir: ch instanceof ExportedRecvChannel ? 'recv' : 'send' }));
      const authorize = this.config.authorize;
      if (authorize === undefined) return all;
      const verdicts = all.map((l) => ask(() => authorize(c, l.name, l.dir)));
      const pick = (vs: readonly unknown[]): ChannelListing[] => all.filter((_, i) => vs[i] === true);
      return verdicts.some(isPromise) ? Promise.all(verdicts.map((v) => Promise.resolve(v).catch(() => false))).then(pick) : pick(verdicts);
    }
    if (what === QueryKind.Metrics) {
      if (this.config.remoteMetrics !== true) throw new NetchanError('EAUTH', 'this exporter does not publish its metrics (remoteMetrics: false)');
      const authorize = this.config.authorize;
      const verdict = authorize === undefined ? true : ask(() => authorize(c, '$metrics', 'send'));
      const answer = (v: unknown): ExporterMetrics => {
        if (v !== true) throw new NetchanError('EAUTH', 'metrics: refused by the exporter\'s authorize hook');
        return this.remoteMetrics();
      };
      return isPromise(verdict) ? verdict.then(answer) : answer(verdict);
    }
    throw new NetchanError('EPROTO', `unknown query ${JSON.stringify(String(what)).slice(0, 40)}`);
  }

  /** A snapshot for another process: no per-binding detail, at most 500 clients and channels. */
  private remoteMetrics(): ExporterMetrics {
    return forRemote(this.metrics(), REMOTE_METRICS_MAX);
  }

  private channelStats(): ChannelStats[] {
    return channelStats(this.names, this.clientsBySession.keys());
  }

  // ---- helpers ----

  private clientOf(link: Link): ExporterClient | undefined {
    return this.handshaking.get(link) ?? (link.session ? this.clientsBySession.get(link.session) : undefined);
  }

  private report(err: NetchanError, c?: ExporterClient): void {
    (c?.log ?? this.log).warn({ code: err.code, error: err.message }, 'error');
    this.errors.next(err);
  }

  private changed(): void {
    if (!this.clientsChanged.closed && this.clientsChanged.observed) this.clientsChanged.next();
  }

  private *sendChannels(): Iterable<SendChannel<unknown>> {
    for (const ch of this.names.values()) if (ch instanceof SendChannel) yield ch;
    yield* this.retired;
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

interface ResumeRequest {
  readonly id: string;
  readonly token: string;
  readonly ctl: number;
}

/** A reconnecting importer names its session (id and secret token, chosen by it, so it can resume even if our answer to its first HELLO was lost) and how many reliable frames it got. */
function parseResume(options: Record<string, unknown>): ResumeRequest | null {
  const resume = options['resume'];
  if (resume === undefined) return null;
  if (!isRecord(resume) || typeof resume['session'] !== 'string' || typeof resume['token'] !== 'string' || resume['session'].length > 64) {
    throw new NetchanError('EPROTO', 'malformed HELLO frame: resume must be { session, token, ctl }');
  }
  const ctl = resume['ctl'];
  if (typeof ctl !== 'number' || !Number.isSafeInteger(ctl) || ctl < 0) throw new NetchanError('EPROTO', 'malformed HELLO frame: resume.ctl');
  return { id: resume['session'], token: resume['token'], ctl };
}

/** A refused binding's error: `'EAUTH'` naming the channel (with the hook's own error as cause, if it threw). */
function refusedBinding(name: string, verdict: unknown): NetchanError {
  const cause = verdict instanceof Thrown ? verdict.error : undefined;
  const why = cause === undefined ? '' : ` (${cause instanceof Error ? cause.message : String(cause)})`;
  return new NetchanError('EAUTH', `channel "${name}": refused by the exporter's authorize hook${why}`, cause === undefined ? undefined : { cause });
}

/** A hook's error, kept as a verdict: a hook that throws refuses. */
class Thrown {
  constructor(readonly error: unknown) {}
}

/** Calls an authorize hook: its verdict, a Promise of it, or a {@link Thrown}. */
function ask(hook: () => boolean | Promise<boolean>): unknown {
  try {
    const v = hook();
    return isPromise(v) ? v.then((x) => x, (e: unknown) => new Thrown(e)) : v;
  } catch (e) {
    return new Thrown(e);
  }
}

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

function channelRef(name: string, ch: SendChannel<unknown> | ExportedRecvChannel<unknown>): ExportedChannelRef {
  if (ch instanceof SendChannel) return { dir: 'send', name, dispatcher: ch.dispatcher };
  return { dir: 'recv', name, sink: ch.sink, addLane: (lane) => ch.addInbound(lane) };
}
