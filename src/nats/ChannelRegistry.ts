import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { NetchanError } from '../errors/NetchanError.js';
import type { ChannelNames } from './channelNames.js';
import { isNoResponders, toNetchanError } from './natsErrors.js';
import type { ChannelDirection } from './provisionChannel.js';

/** What an exporter answers about a channel it serves. */
interface Answer {
  v: 1;
  dir: ChannelDirection;
}

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
    const stop = this.answer(names, dir);
    await this.nc.flush();
    return stop;
  }

  /** {@link serve}, without waiting: the server has the subscription once the connection has flushed it. */
  answer(names: ChannelNames, dir: ChannelDirection): () => void {
    const answer = JSON.stringify({ v: 1, dir } satisfies Answer);
    const sub: Subscription = this.nc.subscribe(names.registry, {
      queue: QUEUE,
      callback: (_err, msg) => {
        if (msg.reply) msg.respond(answer);
      },
    });
    return () => sub.unsubscribe();
  }

  /**
   * The direction `names.channel` is exported for.
   * @throws NetchanError `'ENOCHAN'` when no exporter serves it.
   */
  async lookup(names: ChannelNames): Promise<ChannelDirection> {
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
    return answer.dir;
  }

  /**
   * Checks that an import of `names.channel` for `importDir` can bind: the
   * channel is exported, in the matching direction (an importer's `'recv'`
   * pairs with an exporter's `'send'`).
   * @throws NetchanError `'ENOCHAN'` or `'EDIR'`, with the messages of the direct transport.
   */
  async checkImport(names: ChannelNames, importDir: ChannelDirection): Promise<void> {
    const exported = await this.lookup(names);
    const wanted: ChannelDirection = importDir === 'recv' ? 'send' : 'recv';
    if (exported !== wanted) {
      throw new NetchanError(
        'EDIR',
        `wrong direction for channel "${names.channel}": it is exported for '${exported}', so import it with '${exported === 'send' ? 'recv' : 'send'}'`,
      );
    }
  }
}
