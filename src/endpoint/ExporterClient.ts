import type { Subscription } from 'rxjs';
import type { Link } from '../link/Link.js';
import type { Logger } from '../observe/Logger.js';
import type { Session } from '../session/Session.js';
import type { BindingStats, ClientState } from './Metrics.js';
import { bindingStats, sessionStats } from './sessionMetrics.js';
import type { SessionStats } from './SessionStats.js';

/**
 * One importer connected to an exporter (asyncserver's Client), as
 * `exporter.clients` and `exporter.clients$` list it and `authorize` gets it.
 * The object is live: its fields read the client's current state, and it is
 * the same object for the client's whole life (across the connections a
 * resumable importer comes back on).
 */
export interface ClientInfo {
  /** Stable for the importer's session, across the connections it resumes on. */
  readonly id: string;
  /** The peer's address (`tcp://127.0.0.1:53012`), as its latest connection named it. */
  readonly remote: string;
  /** Scheduler time (ms) when it connected. */
  readonly since: number;
  /** Bindings it holds open. */
  readonly bindings: number;
  /** False while its connection is down and its session waits for a resume. */
  readonly connected: boolean;
  readonly state: ClientState;
  /** What `authenticate` returned for it (`true` when it returned just that); `undefined` without the hook or during the handshake. */
  readonly identity: unknown;
  /** Last round trip measured by PING/PONG, in ms; null until one was. */
  readonly rtt: number | null;
  readonly stats: SessionStats;
  /** Its bindings now: id, channel, direction, window, values in flight. */
  readonly bindingStats: readonly BindingStats[];
  /** The exporter's logger with `{ client: id, remote }` bound (silent unless a `logger` was given). */
  readonly log: Logger;
  /**
   * Graceful disconnect (asyncserver's `Disconnect`): no new values and no new
   * bindings for it; values in flight may still be acknowledged for up to
   * `grace` ms (default 5,000); then BYE `'disconnect'` and the connection
   * closes; what is still unacknowledged goes back to the queue. The importer
   * closes with `'ECLOSED'` and does not resume. Calling it again shortens the
   * grace, never lengthens it.
   */
  disconnect(grace?: number): void;
  /**
   * Cancels bindings of this client: a binding id (see `bindingStats`), or
   * every binding of a channel name. A binding it receives on errors its
   * import with `'ECLOSED'` after the values already sent (what it does not
   * acknowledge goes back to the queue); one it sends on is refused with
   * `'ECLOSED'` (its send channel errors). The connection and other bindings
   * go on. Returns how many bindings were cancelled.
   */
  cancel(binding: number | string): number;
}

/** What a client asks of its exporter. */
export interface ClientOwner {
  disconnectClient(c: ExporterClient, grace: number | undefined): void;
  cancelBindings(c: ExporterClient, binding: number | string): number;
}

/** @internal The exporter's record of a client. */
export class ExporterClient implements ClientInfo {
  phase: 'handshake' | 'open' | 'disconnecting' | 'gone' = 'handshake';
  link: Link | null;
  session: Session | null = null;
  identity: unknown = undefined;
  /** Resume grace timer (detached) and disconnect deadline. */
  grace: Subscription | null = null;
  disconnectTimer: Subscription | null = null;
  disconnectBy = Infinity;
  log: Logger;
  private lastRtt: number | null = null;
  private resolveGone!: () => void;
  /** Resolves once the client is gone. */
  readonly gone: Promise<void> = new Promise<void>((r) => (this.resolveGone = r));

  constructor(
    readonly id: string,
    readonly since: number,
    link: Link,
    logger: Logger,
    private readonly owner: ClientOwner,
  ) {
    this.link = link;
    this.log = logger.child({ client: id, remote: link.remote });
  }

  get remote(): string {
    return this.session?.remote || this.link?.remote || '';
  }

  get bindings(): number {
    return this.session?.size ?? 0;
  }

  get connected(): boolean {
    return this.link !== null;
  }

  get state(): ClientState {
    if (this.phase === 'open' && this.link === null) return 'detached';
    return this.phase;
  }

  get rtt(): number | null {
    if (this.link?.rtt != null) this.lastRtt = this.link.rtt;
    return this.lastRtt;
  }

  get stats(): SessionStats {
    return sessionStats(this.link, this.session, this.rtt);
  }

  get bindingStats(): BindingStats[] {
    return bindingStats(this.session);
  }

  disconnect(grace?: number): void {
    this.owner.disconnectClient(this, grace);
  }

  cancel(binding: number | string): number {
    return this.owner.cancelBindings(this, binding);
  }

  /** @internal It is over. */
  finish(): void {
    this.phase = 'gone';
    this.grace?.unsubscribe();
    this.grace = null;
    this.disconnectTimer?.unsubscribe();
    this.disconnectTimer = null;
    this.resolveGone();
  }
}
