import { nuid, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { isNoResponders } from './natsErrors.js';

/** What a probe found: the connection answered, nobody listens on the subject, or no answer in time. */
export type Aliveness = 'alive' | 'gone' | 'unknown';

/**
 * One NATS connection's "I am here": a subject answered for as long as the
 * connection lives. A producer's record names it, so receivers can tell a
 * producer that went away without completing (crash, close) from one still
 * sending: NATS answers "no responders" at once when nobody subscribes,
 * which the server notices as soon as the producer's connection ends.
 */
export class Liveness {
  readonly subject: string;
  private readonly sub: Subscription;

  constructor(nc: NatsConnection, prefix: string) {
    this.subject = `${prefix}.live.${nuid.next()}`;
    this.sub = nc.subscribe(this.subject, {
      callback: (_err, msg) => {
        if (msg.reply) msg.respond();
      },
    });
  }

  /** Asks whoever holds `subject`. */
  static async probe(nc: NatsConnection, subject: string, timeout = 1_000): Promise<Aliveness> {
    try {
      await nc.request(subject, undefined, { timeout });
      return 'alive';
    } catch (e) {
      return isNoResponders(e) ? 'gone' : 'unknown';
    }
  }

  close(): void {
    this.sub.unsubscribe();
  }
}
