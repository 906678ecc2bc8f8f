import { EMPTY, Observable, Subject, type Subscriber } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import { drain } from '../operators/drain.js';
import { sync } from '../operators/sync.js';
import { FrameType, WireDir } from '../protocol/frame.js';
import { DEFAULT_WINDOW } from '../protocol/limits.js';
import type { Connection } from '../transport/Connection.js';
import { dialerFor, parseUrl } from '../transport/registry.js';
import type { Delivery } from './Delivery.js';
import type { SyncPoint } from './Dispatcher.js';
import { sessionSettings, type EndpointConfig } from './EndpointConfig.js';
import type { SendQueueConfig } from './ExportedSendChannel.js';
import { ImportedSendChannel } from './ImportedSendChannel.js';
import { Inbound } from './Inbound.js';
import { ImporterSession } from './ImporterSession.js';
import type { SessionSettings, SessionStats } from './Session.js';
import { Signal } from './Signal.js';
import { TRACK, type HasTrackable, type Trackable } from './Trackable.js';

/** Options of an {@link Importer}. */
export interface ImporterConfig extends EndpointConfig {
  /** Credentials passed to the exporter's `authenticate` hook (any MessagePack value). */
  auth?: unknown;
  /** Transport extras for `Importer.connect()` (TLS `ca`, WebSocket `protocols`, …). */
  transport?: Record<string, unknown>;
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

interface RecvBinding {
  inbound: Inbound;
  subscriber: Subscriber<unknown>;
}

/**
 * Connects to an Exporter and imports its channels by name, like Go's
 * `netchan.Importer`. One importer uses one connection; when it ends, the
 * importer is closed (create a new one to reconnect).
 *
 * ## Example
 * ```ts
 * import { Importer, importChannel } from 'rx-netchan';
 * import 'rx-netchan/node';
 *
 * const importer = Importer.connect('tcp://127.0.0.1:7000');
 * importChannel<string>(importer, 'jobs', 'recv').subscribe(console.log);
 * ```
 */
export class Importer implements HasTrackable {
  /** Transmission and protocol errors (Go's `Errors()`): a cut connection shows here as `'ECLOSED'`. Hot. */
  readonly errors$: Observable<NetchanError>;
  private readonly errors = new Subject<NetchanError>();
  private readonly session: ImporterSession;
  private readonly progress = new Signal();
  private readonly sends = new Set<ImportedSendChannel<unknown>>();
  private readonly recvs = new Map<string, Set<RecvBinding>>();
  private closedWith: NetchanError | null | undefined = undefined;
  private readonly trackable: Trackable;
  private readonly settings: SessionSettings;

  /** Dials `url` (`tcp://`/`tls://` need `rx-netchan/node`; `ws://` works anywhere) and returns at once. */
  static connect(url: string, config: ImporterConfig = {}): Importer {
    const parsed = parseUrl(url);
    const settings = sessionSettings(config);
    const conn = dialerFor(parsed)(parsed, { maxFrameBytes: settings.maxFrameBytes, ...config.transport });
    return new Importer(conn, config);
  }

  constructor(conn: Connection, config: ImporterConfig = {}) {
    this.settings = sessionSettings(config);
    this.errors$ = this.errors.asObservable();
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
      failure: () => this.failure(),
    };
    this.session = new ImporterSession(conn, this.settings, {
      connectionError: (err) => this.errors.next(err),
      outboundEnded: (out, err) => {
        for (const s of this.sends) {
          if (s.outbound === out) {
            this.sends.delete(s);
            s.ended(err);
          }
        }
      },
      closed: (err) => this.onClosed(err),
    }, config.auth);
  }

  /** The exporter this importer talks to. */
  get remote(): string {
    return this.session.remote;
  }

  get stats(): SessionStats {
    return this.session.stats;
  }

  /** True once the connection has ended. */
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
    const rs = this.recvs.get(name);
    if (rs) {
      for (const r of [...rs]) {
        found = true;
        this.session.unbind(r.inbound);
        r.subscriber.complete();
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

  /** Ends the connection: imports complete; values not yet acknowledged are abandoned (drain first). */
  close(): Promise<void> {
    return this.session.close();
  }

  /** @internal: a `'recv'` import subscription. */
  bindRecv(name: string, config: ImportRecvConfig, subscriber: Subscriber<unknown>): () => void {
    const fail = this.failure();
    if (fail) {
      subscriber.error(fail);
      return () => {};
    }
    const s = this.session;
    const size = Math.max(1, Math.floor(config.size ?? DEFAULT_WINDOW));
    const count = config.count === undefined || config.count < 0 ? -1 : Math.floor(config.count);
    if (count === 0) {
      subscriber.complete();
      return () => {};
    }
    const manual = config.ack === 'manual';
    const id = s.nextId();
    const binding: RecvBinding = { inbound: undefined as unknown as Inbound, subscriber };
    const forget = () => {
      const set = this.recvs.get(name);
      set?.delete(binding);
      if (set?.size === 0) this.recvs.delete(name);
    };
    const inbound = new Inbound(s, id, name, size, count < 0 ? Infinity : count, {
      value: (value, seq, inb) => {
        if (manual) {
          const delivery: Delivery<unknown> = { value, seq, ack: () => inb.ack(seq) };
          subscriber.next(delivery);
        } else {
          // Ack first: a reentrant unsubscribe inside next() (take(n)) must not requeue a delivered value.
          inb.ack(seq);
          subscriber.next(value);
        }
      },
      end: (inb) => {
        // Ended by END or by reaching `count`: not a cancel. Manual acks may still follow.
        forget();
        s.forgetInbound(inb.id);
        subscriber.complete();
      },
      error: (err) => {
        forget();
        subscriber.error(err);
      },
    });
    binding.inbound = inbound;
    let set = this.recvs.get(name);
    if (!set) this.recvs.set(name, (set = new Set()));
    set.add(binding);
    s.addInbound(inbound);
    s.writer.control([FrameType.Open, id, name, WireDir.Recv, size, count]);
    return () => {
      forget();
      s.unbind(inbound);
    };
  }

  /** @internal: a `'send'` import. */
  openSend<T>(name: string, config: ImportSendConfig): ImportedSendChannel<T> {
    const size = Math.max(1, Math.floor(config.size ?? DEFAULT_WINDOW));
    const count = config.count === undefined || config.count < 0 ? -1 : Math.floor(config.count);
    const ch = new ImportedSendChannel<T>(
      name,
      this.session,
      this.progress,
      { ...config, size, count },
      () => this.failure(),
      (err) => this.errors.next(err),
    );
    const fail = this.failure();
    if (fail) {
      ch.fail(fail);
      this.errors.next(fail);
    } else {
      this.sends.add(ch as ImportedSendChannel<unknown>);
      // Listed while it can still have values pending (for drain); dropped once done.
      const stop = ch.dispatcher.progress.listen(() => {
        if (ch.dispatcher.state !== 'open' && ch.dispatcher.pending === 0) {
          this.sends.delete(ch as ImportedSendChannel<unknown>);
          stop();
        }
      });
    }
    return ch;
  }

  private failure(): NetchanError | null {
    if (this.closedWith === undefined) return null;
    return this.closedWith ?? new NetchanError('ECLOSED', 'importer is closed');
  }

  private onClosed(err: NetchanError | undefined): void {
    this.closedWith = err ?? null;
    for (const s of this.sends) {
      if (err) s.fail(err);
      else s.closeQuietly();
    }
    // sends stay listed: their unacknowledged values make drain fail with the reason.
    this.progress.emit();
    this.errors.complete();
  }

  /** @internal */
  [TRACK](): Trackable {
    return this.trackable;
  }
}
