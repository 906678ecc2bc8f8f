import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { NetchanError } from '../errors/NetchanError.js';
import type { ChannelNames } from './channelNames.js';
import { isNoResponders, toNetchanError } from './natsErrors.js';
import type { ChannelDirection } from './provisionChannel.js';

/** What an exporter answers about a channel it serves. */
interface Answer {
  v: 1;
  dir: ChannelDirection;
  /** False while the exporter is still setting the channel up (stream, its producer's record). */
  ready?: boolean;
}

/** What {@link ChannelRegistry.lookup} found. */
export interface Exported {
  readonly dir: ChannelDirection;
  readonly ready: boolean;
}

/** An exporter's answers for one name. */
export interface Answering {
  /** The channel is set up: say so from now on. */
  ready(): void;
  stop(): void;
}

/** How long an import waits for an exporter that answers "not ready yet". */
const READY_WAIT = 15_000;

/** Exporters of one name answer as a queue group: one reply per lookup, however many serve it. */
const QUEUE = 'rx-netchan';

/**
 * Which channels are exported right now, and in which direction. Each
 * exporter serving a channel answers requests on the channel's registry
 * subject; an importer asks before binding. No exporter alive means no
 * subscriber, and NATS answers "no responders" at once, so an unknown name
 * fails with `'ENOCHAN'` immediately, never by a timeout; a wrong direction
 * fails with `'EDIR'`. Liveness comes free: an exporter's answer disappears
 * with its connection.
 *
 * In a cluster, a new exporter's subscription reaches the other servers a few
 * milliseconds after it registered; a lookup through another server in that
 * instant still sees no responders.
 */
export class ChannelRegistry {
  constructor(
    private readonly nc: NatsConnection,
    /** Milliseconds a lookup waits for an answer when an exporter exists but is slow. */
    private readonly timeout = 5_000,
  ) {}

  /**
   * Answers lookups of `names.channel` as exported for `dir` until the
   * returned function is called. Resolves once the server has the subscription.
   */
  async serve(names: ChannelNames, dir: ChannelDirection): Promise<() => void> {
    const a = this.answer(names, dir);
    a.ready();
    await this.nc.flush();
    return () => a.stop();
  }

  /**
   * Answers at once (the server has the subscription once the connection has
   * flushed it), as not ready until `ready()`: an exporter knows its names
   * the moment they are exported, before their streams are set up.
   */
  answer(names: ChannelNames, dir: ChannelDirection): Answering {
    let answer = JSON.stringify({ v: 1, dir, ready: false } satisfies Answer);
    const sub: Subscription = this.nc.subscribe(names.registry, {
      queue: QUEUE,
      callback: (_err, msg) => {
        if (msg.reply) msg.respond(answer);
      },
    });
    return {
      ready: () => (answer = JSON.stringify({ v: 1, dir, ready: true } satisfies Answer)),
      stop: () => sub.unsubscribe(),
    };
  }

  /**
   * The direction `names.channel` is exported for.
   * @throws NetchanError `'ENOCHAN'` when no exporter serves it.
   */
  async lookup(names: ChannelNames): Promise<Exported> {
    let data: Uint8Array;
    try {
      data = (await this.nc.request(names.registry, undefined, { timeout: this.timeout })).data;
    } catch (e) {
      if (isNoResponders(e)) throw new NetchanError('ENOCHAN', `no such channel: "${names.channel}"`, { cause: e });
      throw toNetchanError(e, `channel "${names.channel}": registry lookup`);
    }
    let answer: Partial<Answer> | null = null;
    try {
      answer = JSON.parse(new TextDecoder().decode(data)) as Partial<Answer>;
    } catch {
      // fall through
    }
    if (answer === null || (answer.dir !== 'send' && answer.dir !== 'recv')) {
      throw new NetchanError('EPROTO', `channel "${names.channel}": malformed registry answer`);
    }
    return { dir: answer.dir, ready: answer.ready !== false };
  }

  /**
   * Checks that an import of `names.channel` for `importDir` can bind: the
   * channel is exported, in the matching direction (an importer's `'recv'`
   * pairs with an exporter's `'send'`). An exporter still setting the
   * channel up is asked again (up to 15 s): binding before its producer is
   * recorded could take the channel's last run for this one.
   * @throws NetchanError `'ENOCHAN'` or `'EDIR'`, with the messages of the direct transport.
   */
  async checkImport(names: ChannelNames, importDir: ChannelDirection): Promise<void> {
    const deadline = Date.now() + READY_WAIT;
    let found = await this.lookup(names);
    for (let attempt = 0; !found.ready && Date.now() < deadline; attempt++) {
      if (found.dir === importDir) break; // EDIR whatever the exporter's progress
      await new Promise((r) => setTimeout(r, Math.min(500, 10 * 2 ** attempt)));
      found = await this.lookup(names);
    }
    const exported = found.dir;
    const wanted: ChannelDirection = importDir === 'recv' ? 'send' : 'recv';
    if (exported !== wanted) {
      throw new NetchanError(
        'EDIR',
        `wrong direction for channel "${names.channel}": it is exported for '${exported}', so import it with '${exported === 'send' ? 'recv' : 'send'}'`,
      );
    }
    if (!found.ready) throw new NetchanError('ETIMEDOUT', `channel "${names.channel}": its exporter did not finish setting it up within ${READY_WAIT} ms`);
  }
}
