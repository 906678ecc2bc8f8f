import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type ConsumerInfo, type JetStreamManager } from '@nats-io/jetstream';
import type { NetchanError } from '../errors/NetchanError.js';
import { ChannelLife } from './ChannelLife.js';
import { ChannelRegistry } from './ChannelRegistry.js';
import { channelNames, type ChannelNames } from './channelNames.js';
import { ChannelWatch } from './ChannelWatch.js';
import { Liveness } from './Liveness.js';
import type { ResolvedNatsConfig } from './NatsConfig.js';
import { JsCode, apiErrorCode, isTransient, toNetchanError } from './natsErrors.js';

/** NATS's default `max_payload`, until the server says otherwise. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Most ms close() waits for pullers' give-backs and record writes to reach the server. */
const SETTLE_LIMIT = 5_000;
/** How long an import waits for an exported channel's stream to be set up. */
const PROVISION_WAIT = 15_000;
/** Room a value's publish headers take (`Nats-Msg-Id`, `Nats-Expected-Stream`) besides the stream name. */
const HEADER_ROOM = 128;

/** Something an endpoint releases when it closes. */
export interface Closable {
  /** `reason` unset: a clean close. */
  close(reason?: NetchanError): void | Promise<void>;
}

/**
 * What the lanes of one NATS connection share: the connection, its JetStream
 * manager, the channel registry, its liveness subject, and per channel one
 * {@link ChannelWatch} and one {@link ChannelLife}. An exporter listening on
 * `nats://` has one; so has an importer connected to `nats://`.
 */
export class NatsEndpoint {
  readonly registry: ChannelRegistry;
  readonly liveness: Liveness;
  private readonly watches = new Map<string, ChannelWatch>();
  private readonly lives = new Map<string, ChannelLife>();
  private readonly ready = new Map<string, Promise<{ ackWait: number }>>();
  private readonly closables = new Set<Closable>();
  /** Work that must reach the server before the connection closes (pullers giving values back). */
  private readonly settling = new Set<Promise<unknown>>();
  private closing: Promise<void> | null = null;

  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
    readonly config: ResolvedNatsConfig,
    readonly scheduler: SchedulerLike,
    /** A problem worth reporting (errors$). */
    readonly report: (err: NetchanError) => void,
  ) {
    this.registry = new ChannelRegistry(nc);
    this.liveness = new Liveness(nc, config.prefix);
  }

  static async open(nc: NatsConnection, config: ResolvedNatsConfig, report: (err: NetchanError) => void, scheduler: SchedulerLike = asyncScheduler): Promise<NatsEndpoint> {
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const ep = new NatsEndpoint(nc, jsm, config, scheduler, report);
    await nc.flush();
    return ep;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  /** The JetStream names of `channel`. */
  names(channel: string): ChannelNames {
    return channelNames(this.config.prefix, channel);
  }

  /** Largest payload the server takes. */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  }

  /** Largest encoded value that fits in one publish into `stream` (or any stream, without one). */
  valueLimit(stream = ''): number {
    return this.maxPayload - HEADER_ROOM - (stream === '' ? 256 : stream.length);
  }

  /** The channel's consumer, followed for whoever listens. */
  watch(names: ChannelNames): ChannelWatch {
    let w = this.watches.get(names.stream);
    if (w === undefined) {
      w = new ChannelWatch(this.nc, this.jsm, names, { scheduler: this.scheduler });
      this.watches.set(names.stream, w);
    }
    return w;
  }

  /** The channel's end as its receivers here see it; one while anyone listens. */
  life(names: ChannelNames): ChannelLife {
    let l = this.lives.get(names.stream);
    if (l === undefined) {
      const life = new ChannelLife(this, names, (idle) => {
        if (this.lives.get(names.stream) === idle) this.lives.delete(names.stream);
      });
      this.lives.set(names.stream, life);
      l = life;
    }
    return l;
  }

  /**
   * Resolves once the channel's stream and consumer exist, with the
   * consumer's `ack_wait` (ms) as its creator set it. An exporter answers the
   * registry as soon as it exports a name, before its stream is set up: an
   * import that finds neither yet waits for them (up to 15 s).
   */
  channelReady(names: ChannelNames): Promise<{ ackWait: number }> {
    let p = this.ready.get(names.stream);
    if (p === undefined) {
      p = this.waitForConsumer(names).then(
        (info) => ({ ackWait: Math.round((info.config.ack_wait ?? 30e9) / 1e6) }),
        (e: unknown) => {
          this.ready.delete(names.stream);
          throw toNetchanError(e, `channel "${names.channel}": its consumer`);
        },
      );
      this.ready.set(names.stream, p);
    }
    return p;
  }

  private async waitForConsumer(names: ChannelNames): Promise<ConsumerInfo> {
    const deadline = Date.now() + PROVISION_WAIT;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.jsm.consumers.info(names.stream, names.consumer);
      } catch (e) {
        const code = apiErrorCode(e);
        const missing = code === JsCode.ConsumerNotFound || code === JsCode.StreamNotFound;
        if ((!missing && !isTransient(e)) || Date.now() >= deadline || this.closed) throw e;
        await new Promise((r) => setTimeout(r, Math.min(500, 20 * 2 ** attempt)));
      }
    }
  }

  /** Releases `c` when the endpoint closes (unless it was untracked). Returns the untracker. */
  track(c: Closable): () => void {
    this.closables.add(c);
    return () => this.closables.delete(c);
  }

  /** Lets the connection close only once `p` has settled. */
  settle(p: Promise<unknown>): void {
    this.settling.add(p);
    void p.finally(() => this.settling.delete(p)).catch(() => undefined);
  }

  /** Closes everything tracked (pullers give their values back), then the connection. Idempotent. */
  close(reason?: NetchanError): Promise<void> {
    this.closing ??= (async () => {
      const all = [...this.closables];
      this.closables.clear();
      await Promise.all(all.map((c) => Promise.resolve(c.close(reason)).catch(() => undefined)));
      // Bounded: with the server gone, a record write would retry for 15 s.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all([...this.settling].map((p) => p.catch(() => undefined))),
        new Promise((r) => (timer = setTimeout(r, SETTLE_LIMIT))),
      ]);
      clearTimeout(timer);
      this.liveness.close();
      await this.nc.close().catch(() => undefined);
    })();
    return this.closing;
  }
}
