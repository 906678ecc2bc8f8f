import type { Subscription } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import type { EndTable } from '../ends/EndTable.js';
import { Link, type LinkOwner, type LinkSettings } from '../link/Link.js';
import { ByeReason } from '../protocol/frame.js';
import { DEFAULT_MAX_BINDINGS, DEFAULT_MAX_WINDOW } from '../protocol/limits.js';
import { Session, type SessionHost } from '../session/Session.js';
import type { Connection } from '../transport/Connection.js';
import { diagnostics } from '../observe/diagnostics.js';
import type { Logger } from '../observe/Logger.js';
import { randomId } from './EndpointConfig.js';
import { bindingStats, sessionStats } from './sessionMetrics.js';
import type { BindingStats } from './Metrics.js';
import type { ImportBinder, ImporterConnection, ImporterConnectionHost, ReconnectEvent } from './ImporterConnection.js';
import { backoff, type ReconnectConfig } from './ReconnectConfig.js';
import type { SessionStats } from './SessionStats.js';

/**
 * An importer's direct connection to an exporter: a session over one link
 * at a time. Without `reconnect`, one link and then it is over. With it, a
 * dropped link is redialled with backoff and the session resumed (or, if the
 * exporter no longer has it, a new one started and the imports bound afresh).
 */
export class DirectConnection implements ImporterConnection {
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
  private closing: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;
  private over = false;
  private readonly sessionHost: SessionHost;
  private readonly owner: LinkOwner;
  private lastRtt: number | null = null;
  /** Queries made before the connection was open: sent once it is. */
  private waiters: Array<{ open(): void; fail(e: NetchanError): void }> = [];

  constructor(
    private readonly dial: () => Connection,
    private readonly settings: LinkSettings,
    private readonly host: ImporterConnectionHost,
    ends: EndTable,
    private readonly auth: unknown,
    private readonly reconnect: ReconnectConfig | null,
    private readonly log: Logger,
  ) {
    this.resumeAs = reconnect === null ? null : { id: randomId(), token: randomId() };
    this.sessionHost = {
      codec: host.codec,
      maxWindow: DEFAULT_MAX_WINDOW,
      maxBindings: DEFAULT_MAX_BINDINGS,
      resolve: (session, name, dir) => {
        if (typeof name === 'number') return ends.resolve(name, dir, session);
        throw new NetchanError('ENOCHAN', `no such channel on the importer: ${typeof name === 'string' ? `"${name}"` : String(name)}`);
      },
      report: (err) => host.error(err),
    };
    this.owner = {
      hello: (link, options) => this.hello(link, options),
      linkError: (link, err) => {
        if (link === this.link) host.error(err);
        this.lastError = err;
      },
      linkClosed: (link, err) => this.linkClosed(link, err),
    };
    this.session = new Session(this.sessionHost, 'dialer');
    this.open(true);
  }

  get binder(): ImportBinder {
    return this.session;
  }

  get remote(): string {
    return this.link?.remote ?? this.session.remote;
  }

  /** Counters over every link this importer has had. */
  get stats(): SessionStats {
    const s = sessionStats(this.link, this.session, this.rtt);
    const past = this.pastLinks;
    return { ...s, framesIn: past.framesIn + s.framesIn, framesOut: past.framesOut + s.framesOut, bytesIn: past.bytesIn + s.bytesIn, bytesOut: past.bytesOut + s.bytesOut };
  }

  /** Frame and byte counters of the links before the current one. */
  private pastLinks = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0 };

  get bindings(): BindingStats[] {
    return bindingStats(this.session);
  }

  /** Last round trip measured, in ms (kept across reconnections); null until one was. */
  get rtt(): number | null {
    if (this.link?.rtt != null) this.lastRtt = this.link.rtt;
    return this.lastRtt;
  }

  ping(): void {
    this.link?.ping();
  }

  /** Asks the exporter (QUERY): once the connection is open; rejects with `'ECLOSED'` if the importer closes first. */
  query(what: string): Promise<unknown> {
    if (this.over || this.closing) return Promise.reject(new NetchanError('ECLOSED', 'importer is closed'));
    const link = this.link;
    if (link !== null && link.established && link.phase === 'open') {
      if (!link.peerAnswersQueries) return Promise.reject(new NetchanError('EPROTO', `the exporter at ${link.remote} does not answer queries (an rx-netchan older than this one)`));
      return link.query(what);
    }
    return new Promise<unknown>((resolve, reject) => this.waiters.push({ open: () => resolve(this.query(what)), fail: reject }));
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = new Promise<void>((resolve) => (this.resolveClosed = resolve));
    this.retry?.unsubscribe();
    this.retry = null;
    if (this.link !== null && this.link.phase !== 'closed') this.link.close(ByeReason.Close);
    else this.finish(undefined);
    return this.closing;
  }

  /** Dials and starts a link. The first link carries the fresh session at once (imports pipeline behind HELLO); later ones wait for the exporter's answer. */
  private open(first: boolean): void {
    let conn: Connection;
    try {
      conn = this.dial();
    } catch (e) {
      const err = e instanceof NetchanError ? e : new NetchanError('ECLOSED', `cannot connect: ${(e as Error).message}`, { cause: e });
      this.host.error(err);
      this.lastError = err;
      if (first && this.reconnect === null) this.finish(err);
      else this.scheduleRetry();
      return;
    }
    const link = new Link(conn, this.settings, this.host.codec, this.owner);
    this.link = link;
    const resume = this.resumeAs ? { session: this.resumeAs.id, token: this.resumeAs.token, ctl: this.session.log.received } : undefined;
    link.sendHello({ ...(this.auth === undefined ? {} : { auth: this.auth }), ...(resume === undefined ? {} : { resume }) });
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
    if (link.session !== null) {
      // The first link: the session was attached before the answer.
      this.attempts = 0;
      this.everOpen = true;
      this.host.state('open');
      this.opened(link, 'connected');
      return;
    }
    // A reconnection: resume the session, or start a new one and bind every live import afresh.
    const resumed = options['resumed'] === true && this.resumeAs !== null && options['session'] === this.resumeAs.id;
    const old = this.session;
    if (resumed) {
      const ctl = options['ctl'];
      if (typeof ctl !== 'number' || !Number.isSafeInteger(ctl) || ctl < 0) throw new NetchanError('EPROTO', 'malformed HELLO frame: ctl');
      link.attach(old);
      old.attach(link, ctl);
    } else {
      this.session = new Session(this.sessionHost, 'dialer');
      link.attach(this.session);
      this.session.attach(link, null);
    }
    const event: ReconnectEvent = {
      type: resumed ? 'resumed' : 'new-session',
      exporterRestarted: restarted,
      attempts: this.attempts,
      downtime: this.settings.scheduler.now() - this.droppedAt,
    };
    this.attempts = 0;
    this.everOpen = true;
    this.host.state('open');
    this.host.reconnected(event, !resumed);
    this.opened(link, resumed ? 'resumed' : 'reconnected with a new session');
    if (!resumed) {
      // What else lived on the old session (channel ends inside values) cannot follow: it settles.
      old.close(new NetchanError('ECLOSED', `the exporter at ${link.remote} no longer had this session (${restarted ? 'it restarted' : 'past its resumeGrace'})`));
    }
    this.host.progress();
  }

  /** The exporter answered: log it, publish it, send the queries that waited. */
  private opened(link: Link, what: string): void {
    this.log.info({ remote: link.remote }, what);
    const d = diagnostics();
    if (d?.connectionOpen.hasSubscribers) d.connectionOpen.publish({ endpoint: 'importer', remote: link.remote });
    for (const w of this.waiters.splice(0)) w.open();
  }

  private linkClosed(link: Link, err: NetchanError | undefined): void {
    if (link !== this.link) return;
    if (link.rtt !== null) this.lastRtt = link.rtt;
    const p = this.pastLinks;
    this.pastLinks = { framesIn: p.framesIn + link.framesIn, framesOut: p.framesOut + link.writer.framesOut, bytesIn: p.bytesIn + link.bytesIn, bytesOut: p.bytesOut + link.writer.bytesOut };
    this.link = null;
    const d = diagnostics();
    if (d?.connectionClose.hasSubscribers) d.connectionClose.publish({ endpoint: 'importer', remote: link.remote, ...(err ? { error: err } : {}) });
    if (err) this.log.warn({ remote: link.remote, code: err.code, error: err.message }, 'connection lost');
    if (this.closing) return this.finish(undefined);
    const refused = err !== undefined && (err.code === 'EAUTH' || (err.code === 'EPROTO' && !link.established));
    if (this.reconnect !== null && !refused && link.byeReason !== ByeReason.Disconnect) {
      if (link.established || this.everOpen) {
        // Each gap shows on errors$, a goodbye from a restarting exporter too.
        if (err === undefined) this.host.error(new NetchanError('ECLOSED', `${link.remote} closed the connection; reconnecting`));
        this.droppedAt = this.settings.scheduler.now();
      }
      this.session.detach();
      this.host.state('reconnecting');
      this.scheduleRetry();
      return;
    }
    if (link.byeReason === ByeReason.Disconnect) {
      const e = new NetchanError('ECLOSED', `disconnected by the exporter at ${link.remote}`);
      this.host.error(e);
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
    const delay = backoff(policy, this.attempts);
    this.log.info({ attempt: this.attempts, delay }, 'reconnecting');
    this.retry = this.settings.scheduler.schedule(() => {
      this.retry = null;
      if (!this.closing) this.open(false);
    }, delay);
  }

  private finish(err: NetchanError | undefined): void {
    if (this.over) return;
    this.over = true;
    const closed = err ?? new NetchanError('ECLOSED', 'importer is closed');
    for (const w of this.waiters.splice(0)) w.fail(closed);
    this.log.info(err ? { code: err.code, error: err.message } : {}, 'closed');
    this.retry?.unsubscribe();
    this.retry = null;
    this.session.close(err);
    this.host.closed(err);
    this.resolveClosed?.();
    if (!this.closing) this.closing = Promise.resolve();
  }
}
