import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { NatsConnection } from '@nats-io/transport-node';
import type { RecvLane, RecvSink, SendLane, SendLaneOwner } from '../channel/Lane.js';
import { NetchanError } from '../errors/NetchanError.js';
import { AUTO_WINDOW, DEFAULT_WINDOW } from '../protocol/limits.js';
import type { ImportBinder, ImporterConnection, ImporterConnectionHost } from '../endpoint/ImporterConnection.js';
import { backoff, type ReconnectConfig } from '../endpoint/ReconnectConfig.js';
import type { SessionStats } from '../endpoint/SessionStats.js';
import { channelNames, type ChannelNames } from './channelNames.js';
import { connectNats, type NatsReconnect } from './connectNats.js';
import type { ResolvedNatsConfig } from './NatsConfig.js';
import { NatsEndpoint } from './NatsEndpoint.js';
import { natsOptions } from './natsOptions.js';
import { NatsRecvLane } from './NatsRecvLane.js';
import { NatsSendLane } from './NatsSendLane.js';
import { refuseChannelEnds } from './refuseChannelEnds.js';
import { watchStatus } from './watchStatus.js';

/** NATS's default `max_payload` less room for headers, until the server says otherwise. */
const DEFAULT_VALUE_LIMIT = 1024 * 1024 - 512;

/**
 * `Importer.connect('nats://host:port')` (registered by `rx-netchan/nats`):
 * one NATS connection, made in the background. Each import asks the registry
 * first (`'ENOCHAN'`/`'EDIR'` come back at once), then pulls from the
 * channel's consumer (`'recv'`) or publishes into its stream (`'send'`).
 *
 * Reconnecting is nats.js's: with the importer's `reconnect` option it
 * retries forever (or `maxAttempts` times per drop, `initialDelay` apart),
 * imports stay bound across the gap (`state$` goes `'reconnecting'` then
 * `'open'`, `reconnects$` emits `'resumed'`: the queue is in the stream, so
 * every binding simply goes on); without it, the first drop closes the
 * importer with `'ECLOSED'`, as on the direct transport.
 */
export class NatsImporterConnection implements ImporterConnection {
  readonly binder: ImportBinder;
  readonly remote: string;
  private ep: NatsEndpoint | null = null;
  /** The endpoint once connected; null if closed before. */
  private readonly ready: Promise<NatsEndpoint | null>;
  private readonly prefix: string;
  private closing: Promise<void> | null = null;
  private over = false;
  private stopStatus: (() => void) | null = null;
  private droppedAt = 0;
  private attempts = 0;
  private readonly reconnects: boolean;

  constructor(
    url: URL,
    config: Record<string, unknown>,
    private readonly host: ImporterConnectionHost,
  ) {
    const { servers, config: nats, url: where } = natsOptions(url, config['transport']);
    this.remote = where;
    this.prefix = nats.prefix;
    const scheduler = (config['scheduler'] as SchedulerLike | undefined) ?? asyncScheduler;
    const reconnect = config['reconnect'] as boolean | ReconnectConfig | undefined;
    const policy = reconnect === true ? {} : reconnect || null;
    this.reconnects = policy !== null && policy.maxAttempts !== 0;
    refuseChannelEnds(host.codec);
    const settings = { maxAttempts: policy === null ? 0 : (policy.maxAttempts ?? -1) };
    const tuned = policy?.initialDelay === undefined ? nats : { ...nats, reconnectTimeWait: policy.initialDelay };
    this.ready = this.firstConnection(servers, tuned, settings, policy, scheduler)
      .then((nc) => (nc === null ? null : NatsEndpoint.open(nc, tuned, (e) => host.error(e), scheduler)))
      .then(
        (ep) => {
          if (ep === null) return null;
          if (this.closing) {
            void ep.close();
            return null;
          }
          this.ep = ep;
          this.stopStatus = watchStatus(ep.nc, (s) => this.status(s.type, ep));
          // nats.js gave up (no reconnect, or maxAttempts spent): imports error.
          void ep.nc.closed().then((cause) => {
            if (this.closing || this.over) return;
            const err = new NetchanError('ECLOSED', `the NATS connection to ${this.remote} closed${cause ? `: ${cause.message}` : ''}`, { cause });
            host.error(err);
            void ep.close(err).then(() => this.finish(err));
          });
          host.state('open');
          return ep;
        },
        (e: unknown) => {
          const err = e instanceof NetchanError ? e : new NetchanError('ECLOSED', `cannot connect to NATS at ${where}: ${(e as Error).message}`, { cause: e });
          if (!this.closing) host.error(err);
          this.finish(this.closing ? undefined : err);
          if (this.closing) return null;
          throw err;
        },
      );
    // Lanes waiting for it see the failure; nobody else must see it unhandled.
    this.ready.catch(() => undefined);
    const self = this;
    this.binder = {
      get frameLimit() {
        return self.ep?.valueLimit() ?? DEFAULT_VALUE_LIMIT;
      },
      openInbound: (name, size, count, sink) => this.openInbound(name, size, count, sink),
      openOutbound: (name, size, count, owner) => this.openOutbound(name, size, count, owner),
    };
  }

  /**
   * Dials until connected: once without `reconnect`, else with its backoff
   * (each failure on `errors$`), stopping when the importer closes. Our own
   * loop rather than nats.js's `waitOnFirstConnect`, which close() could not stop.
   * Resolves with null if closed first.
   */
  private async firstConnection(
    servers: string[],
    nats: ResolvedNatsConfig,
    settings: NatsReconnect,
    policy: ReconnectConfig | null,
    scheduler: SchedulerLike,
  ): Promise<NatsConnection | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        const nc = await connectNats(servers, nats, settings);
        if (!this.closing) return nc;
        await nc.close().catch(() => undefined);
        return null;
      } catch (e) {
        const refused = (e as NetchanError).code === 'EAUTH';
        if (this.closing) return null;
        if (policy === null || refused || attempt > (policy.maxAttempts ?? Infinity) || policy.maxAttempts === 0) throw e;
        this.host.error(e as NetchanError);
        await new Promise<void>((resolve) => {
          const retry = scheduler.schedule(() => resolve(), backoff(policy, attempt));
          this.cancelRetry = () => {
            retry.unsubscribe();
            resolve();
          };
        });
        this.cancelRetry = null;
      }
    }
  }

  private cancelRetry: (() => void) | null = null;

  /** The NATS connection's message and byte counters (over NATS a frame is a NATS message: values, acks and control alike). */
  get stats(): SessionStats {
    const s = this.ep?.nc.stats() ?? { inMsgs: 0, outMsgs: 0, inBytes: 0, outBytes: 0 };
    return {
      framesIn: s.inMsgs,
      framesOut: s.outMsgs,
      bytesIn: s.inBytes,
      bytesOut: s.outBytes,
      valuesIn: s.inMsgs,
      valuesOut: s.outMsgs,
      valueBytesIn: s.inBytes,
      valueBytesOut: s.outBytes,
      acked: 0,
      inFlight: 0,
      errors: 0,
      rtt: null,
    };
  }

  /** Imports give back what they hold (redelivered to other importers at once), then the connection closes. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.cancelRetry?.();
      const ep = this.ep;
      if (ep !== null) await ep.close();
      else await this.ready.catch(() => undefined);
      this.finish(undefined);
    })();
    return this.closing;
  }

  private openInbound(name: string | number, size: number, count: number, sink: RecvSink): RecvLane {
    if (typeof name === 'number') return failedRecvLane(sink, noEnds());
    let names: ChannelNames;
    try {
      names = channelNames(this.prefix, name);
    } catch (e) {
      return failedRecvLane(sink, e as NetchanError);
    }
    const lane = new NatsRecvLane({ names, window: fixedWindow(size), count, followLife: true }, sink, this.host.codec);
    void lane.open(this.ready, () => this.ep!.registry.checkImport(names, 'recv'));
    return lane;
  }

  private openOutbound(name: string | number, size: number, count: number, owner: SendLaneOwner): SendLane {
    let names: ChannelNames;
    let failure: NetchanError | null = null;
    try {
      names = channelNames(this.prefix, typeof name === 'number' ? `#${name}` : name);
      if (typeof name === 'number') failure = noEnds();
    } catch (e) {
      names = channelNames(this.prefix, '?');
      failure = e as NetchanError;
    }
    const lane = new NatsSendLane({ names, window: fixedWindow(size), count }, owner);
    const refused = failure;
    void lane.open(this.ready, refused ? () => Promise.reject(refused) : () => this.ep!.registry.checkImport(names, 'send'));
    return lane;
  }

  private status(type: string, ep: NatsEndpoint): void {
    if (this.closing || this.over || !this.reconnects) return; // without reconnect, the close says it all
    if (type === 'disconnect') {
      this.droppedAt = ep.scheduler.now();
      this.attempts = 0;
      this.host.error(new NetchanError('ECLOSED', `lost the NATS connection to ${ep.nc.getServer()}; reconnecting`));
      this.host.state('reconnecting');
    } else if (type === 'reconnecting') {
      this.attempts++;
    } else if (type === 'reconnect') {
      this.host.state('open');
      this.host.reconnected({ type: 'resumed', exporterRestarted: false, attempts: Math.max(1, this.attempts), downtime: ep.scheduler.now() - this.droppedAt }, false);
      this.host.progress();
    }
  }

  private finish(err: NetchanError | undefined): void {
    if (this.over) return;
    this.over = true;
    this.stopStatus?.();
    this.stopStatus = null;
    this.host.closed(err);
  }
}

function noEnds(): NetchanError {
  return new NetchanError('EINVAL', 'channel ends cannot travel over nats:// in this version');
}

/** A lane refused before it opened: the sink hears it once the caller holds the lane. */
function failedRecvLane(sink: RecvSink, err: NetchanError): RecvLane {
  const lane: RecvLane = { ack: () => undefined, cancel: () => undefined };
  queueMicrotask(() => sink.error(err, lane));
  return lane;
}

/** The consumer's window: a NATS lane adapts none, so an unset `size` is the default. */
function fixedWindow(size: number): number {
  return size === AUTO_WINDOW ? DEFAULT_WINDOW : size;
}
