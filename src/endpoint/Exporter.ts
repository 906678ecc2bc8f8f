import { EMPTY, Observable, Subject, type Subscription } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import { drain } from '../operators/drain.js';
import { sync } from '../operators/sync.js';
import { ValueCodec } from '../protocol/codec.js';
import { ByeReason } from '../protocol/frame.js';
import { DEFAULT_MAX_BINDINGS, DEFAULT_MAX_WINDOW, DEFAULT_RESUME_GRACE_MS } from '../protocol/limits.js';
import type { Connection } from '../transport/Connection.js';
import { listenerFor, parseUrl, type Listener } from '../transport/registry.js';
import { Link, isRecord, type LinkOwner, type LinkSettings } from '../link/Link.js';
import { Session, type OpenTarget, type SessionHost } from '../session/Session.js';
import type { SessionStats } from './SessionStats.js';
import type { SyncPoint } from '../channel/Dispatcher.js';
import { ExportedRecvChannel, type HeldBudget } from '../channel/ExportedRecvChannel.js';
import { SendChannel } from '../channel/SendChannel.js';
import { TRACK, type HasTrackable, type Trackable } from '../channel/Trackable.js';
import { EndTable } from '../ends/EndTable.js';
import { exporterBackendFor } from './backends.js';
import type { ExportedChannelRef, ExportedChannels } from './ExportedChannels.js';
import { Signal } from '../util/Signal.js';
import { codecConfig, heldBudget, linkSettings, randomId, transportOptions, type EndpointConfig } from './EndpointConfig.js';

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
  /**
   * Ms the exporter keeps the session of an importer that connected with
   * `reconnect` and vanished, for it to resume: its bindings keep their values
   * in flight meanwhile. Past it, those values go back to their queues.
   * Defaults to 30,000.
   */
  resumeGrace?: number;
  /** Transport extras for `listen()` (TLS `key`/`cert`, an `http.Server` as `server`, …). */
  transport?: Record<string, unknown>;
}

/** One connected importer, as `exporter.clients` reports it. */
export interface ClientInfo {
  /** Stable for the importer's session, across the connections it resumes on. */
  readonly id: string;
  readonly remote: string;
  /** Scheduler time (ms) when it connected. */
  readonly since: number;
  /** Bindings it holds open. */
  readonly bindings: number;
  /** False while its connection is down and its session waits for a resume. */
  readonly connected: boolean;
  readonly stats: SessionStats;
}

/** `'open'`, `'closing'` once close() was called, `'closed'` once every connection is gone. */
type ExporterState = 'open' | 'closing' | 'closed';

interface Client {
  readonly session: Session;
  readonly id: string;
  readonly since: number;
  link: Link | null;
  grace: Subscription | null;
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
  /** Connection-level errors of every importer: bad frames, refused auth, drops. Completes once the exporter has closed. */
  readonly errors$: Observable<NetchanError>;
  private readonly errors = new Subject<NetchanError>();
  private readonly names = new Map<string, SendChannel<unknown> | ExportedRecvChannel<unknown>>();
  private readonly clientsBySession = new Map<Session, Client>();
  private readonly resumable = new Map<string, Client>();
  private readonly links = new Set<Link>();
  /** Connections whose HELLO has not come yet: listed as clients too (a crowd of silent strangers should show). */
  private readonly handshaking = new Map<Link, { id: string; since: number }>();
  private readonly listeners = new Set<Listener>();
  private readonly settings: LinkSettings;
  private readonly progress = new Signal();
  private state: ExporterState = 'open';
  private closing: Promise<void> | null = null;
  private closed: (() => void) | null = null;
  /** Identifies this exporter process to reconnecting importers (a new one means a restart). */
  readonly instance = randomId(8);
  /** @internal */
  readonly codec: ValueCodec;
  private readonly budget: HeldBudget;
  /** Channel ends that travelled inside values from here. */
  private readonly ends: EndTable;
  private readonly host: SessionHost;
  private readonly owner: LinkOwner;
  private readonly trackable: Trackable;
  /** Completed send channels whose values are still in flight (for drain and sync). */
  private readonly retired = new Set<SendChannel<unknown>>();

  constructor(private readonly config: ExporterConfig = {}) {
    this.settings = linkSettings(config);
    this.codec = new ValueCodec(codecConfig(config));
    this.budget = heldBudget(config);
    this.ends = new EndTable(this.codec, this.budget);
    this.codec.setEndHooks(this.ends);
    this.errors$ = this.errors.asObservable();
    this.host = {
      codec: this.codec,
      maxWindow: config.maxWindow ?? DEFAULT_MAX_WINDOW,
      maxBindings: config.maxBindings ?? DEFAULT_MAX_BINDINGS,
      resolve: (session, name, dir) => (typeof name === 'number' ? this.ends.resolve(name, dir, session) : this.resolve(name, dir)),
      report: (err) => this.errors.next(err),
    };
    this.owner = {
      hello: (link, options) => this.hello(link, options),
      linkError: (_link, err) => this.errors.next(err),
      linkClosed: (link, err) => this.linkClosed(link, err),
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
    return { url: listener.url };
  }

  /** Serves the exported channels on one already-open connection (Go's ServeConn). */
  serveConnection(conn: Connection): void {
    if (this.state !== 'open') {
      conn.close();
      return;
    }
    const link = new Link(conn, this.settings, this.codec, this.owner);
    this.links.add(link);
    this.handshaking.set(link, { id: randomId(), since: this.settings.scheduler.now() });
    link.start();
  }

  /** Importers connected now (those still in the handshake too), and those whose session waits for them to resume. */
  get clients(): ClientInfo[] {
    const pending = [...this.handshaking].map(([link, h]) => ({ id: h.id, remote: link.remote, since: h.since, bindings: 0, connected: true, stats: linkStats(link) }));
    return [
      ...pending,
      ...[...this.clientsBySession.values()].map((c) => ({
        id: c.id,
        remote: c.session.remote,
        since: c.since,
        bindings: c.session.size,
        connected: c.link !== null,
        stats: linkStats(c.link),
      })),
    ];
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
      report: (err) => this.errors.next(err),
      watch: (listener) => {
        this.watchers.add(listener);
        for (const [name, ch] of this.names) listener.exported(channelRef(name, ch));
        return () => this.watchers.delete(listener);
      },
    };
  }

  /** @internal */
  get forChannels(): { progress: Signal; report: (e: NetchanError) => void; budget: HeldBudget } {
    return { progress: this.progress, report: (e) => this.errors.next(e), budget: this.budget };
  }

  // ---- connections and sessions ----

  private hello(link: Link, options: Record<string, unknown>): void {
    const pending = this.handshaking.get(link);
    this.handshaking.delete(link);
    if (this.state !== 'open') throw new NetchanError('ECLOSED', 'exporter is closing');
    const auth = this.config.authenticate;
    if (auth && auth(options['auth'], link.remote) !== true) {
      throw new NetchanError('EAUTH', `importer at ${link.remote} was refused by the exporter's authenticate hook`);
    }
    // A reconnecting importer names its session (id and secret token, chosen by it, so it can
    // resume even if our answer to its first HELLO was lost) and how many reliable frames it got.
    const resume = options['resume'];
    let named: { id: string; token: string; ctl: number } | null = null;
    if (resume !== undefined) {
      if (!isRecord(resume) || typeof resume['session'] !== 'string' || typeof resume['token'] !== 'string' || resume['session'].length > 64) {
        throw new NetchanError('EPROTO', 'malformed HELLO frame: resume must be { session, token, ctl }');
      }
      const ctl = resume['ctl'];
      if (typeof ctl !== 'number' || !Number.isSafeInteger(ctl) || ctl < 0) throw new NetchanError('EPROTO', 'malformed HELLO frame: resume.ctl');
      named = { id: resume['session'], token: resume['token'], ctl };
    }
    const found = named ? this.resumable.get(named.id) : undefined;
    if (found && named) {
      if (found.session.token !== named.token) throw new NetchanError('EAUTH', `importer at ${link.remote} asked to resume a session with the wrong token`);
      this.takeOver(found, link);
      link.sendHello({ session: found.id, resumed: true, ctl: found.session.log.received, instance: this.instance });
      link.attach(found.session);
      found.session.attach(link, named.ctl);
      return;
    }
    const session = new Session(this.host, 'listener');
    const id = named?.id ?? pending?.id ?? randomId();
    const client: Client = { session, id, since: pending?.since ?? this.settings.scheduler.now(), link, grace: null };
    this.clientsBySession.set(session, client);
    if (named) {
      session.id = named.id;
      session.token = named.token;
      this.resumable.set(named.id, client);
      link.sendHello({ session: named.id, resumed: false, ctl: 0, instance: this.instance });
    } else {
      link.sendHello({ instance: this.instance });
    }
    link.attach(session);
    session.attach(link, null);
  }

  /** A resuming importer's new link replaces the old one (which may not have noticed the drop yet). */
  private takeOver(c: Client, link: Link): void {
    c.grace?.unsubscribe();
    c.grace = null;
    const old = c.link;
    c.link = link;
    c.session.detach();
    old?.abandon(new NetchanError('ECLOSED', `connection replaced: the importer resumed from ${link.remote}`));
  }

  private linkClosed(link: Link, err: NetchanError | undefined): void {
    this.links.delete(link);
    this.handshaking.delete(link);
    const session = link.session;
    const c = session ? this.clientsBySession.get(session) : undefined;
    if (c !== undefined && c.link === link) {
      c.link = null;
      // A drop (not a goodbye, not a protocol violation) of a resumable session: keep it for a while.
      const drop = err !== undefined && (err.code === 'ECLOSED' || err.code === 'ETIMEDOUT');
      if (drop && c.session.id !== null && this.state === 'open') {
        c.session.detach();
        const grace = this.config.resumeGrace ?? DEFAULT_RESUME_GRACE_MS;
        c.grace = this.settings.scheduler.schedule(() => {
          c.grace = null;
          this.endClient(c, new NetchanError('ECLOSED', `session of ${c.session.remote} expired: no resume within ${grace} ms (resumeGrace)`));
        }, grace);
      } else {
        this.endClient(c, err);
      }
    }
    this.maybeClosed();
  }

  /** The session is over: its bindings are lost (values in flight go back to their queues). */
  private endClient(c: Client, err: NetchanError | undefined): void {
    c.grace?.unsubscribe();
    c.grace = null;
    this.clientsBySession.delete(c.session);
    if (c.session.id !== null) this.resumable.delete(c.session.id);
    c.session.close(err);
    this.progress.emit();
    this.maybeClosed();
  }

  private maybeClosed(): void {
    if (this.state === 'open' || this.links.size > 0) return;
    for (const c of [...this.clientsBySession.values()]) this.endClient(c, undefined);
    if (this.state === 'closing') {
      this.state = 'closed';
      // Completes errors$ in the scheduler's time (virtual under TestScheduler), not after a Promise.
      this.errors.complete();
      this.closed?.();
    }
  }

  /** What a peer's OPEN of `name` binds to. */
  private resolve(name: unknown, dir: 'send' | 'recv'): OpenTarget {
    if (typeof name !== 'string') throw new NetchanError('ENOCHAN', `no such channel: ${String(name)}`);
    const ch = this.names.get(name);
    if (ch === undefined) throw new NetchanError('ENOCHAN', `no such channel: "${name}"`);
    if (ch instanceof ExportedRecvChannel) {
      if (dir !== 'recv') throw new NetchanError('EDIR', `wrong direction for channel "${name}": it is exported for 'recv', so import it with 'send'`);
      return { dir: 'recv', sink: ch, attach: (inb) => ch.addInbound(inb) };
    }
    if (dir !== 'send') throw new NetchanError('EDIR', `wrong direction for channel "${name}": it is exported for 'send', so import it with 'recv'`);
    const d = ch.dispatcher;
    return { dir: 'send', owner: d, attach: (out) => d.attach(out) };
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

function channelRef(name: string, ch: SendChannel<unknown> | ExportedRecvChannel<unknown>): ExportedChannelRef {
  if (ch instanceof SendChannel) return { dir: 'send', name, dispatcher: ch.dispatcher };
  return { dir: 'recv', name, sink: ch, addLane: (lane) => ch.addInbound(lane) };
}

export function linkStats(link: Link | null): SessionStats {
  if (link === null) return { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };
  return { framesIn: link.framesIn, framesOut: link.writer.framesOut, bytesIn: link.bytesIn, bytesOut: link.writer.bytesOut };
}
