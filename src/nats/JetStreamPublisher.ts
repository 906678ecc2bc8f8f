import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { nuid, type NatsConnection, type Subscription as NatsSubscription } from '@nats-io/transport-node';
import { jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { NetchanError } from '../errors/NetchanError.js';
import { isClosed, isRefusal, isTransient, toNetchanError } from './natsErrors.js';
import { watchStatus } from './watchStatus.js';

/** Settings of one {@link JetStreamPublisher}. */
export interface JetStreamPublisherConfig {
  /** The channel, for error messages. */
  channel: string;
  /** Subject of the channel's stream. */
  subject: string;
  /** The stream that must store the values (checked by the server). */
  stream: string;
  /** Most publishes awaiting their PubAck at once (the credit). At least 1. */
  maxOutstanding: number;
  /** Milliseconds to wait for one PubAck before publishing again. */
  timeout: number;
  /** The stream's `duplicate_window` in ms: retries stop before it ends, or a retry could be stored twice. */
  duplicateWindow: number;
  /** Unique id of this producer, the first half of every `Nats-Msg-Id`. Defaults to a fresh NUID. */
  producerId?: string;
  /** For retry delays. Defaults to `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/** What a {@link JetStreamPublisher} reports. */
export interface PublisherEvents {
  /** Every value up to `seq` (1-based, in send order) is settled: stored, or reported to `failed`. */
  acked(seq: number): void;
  /**
   * A value is given up: a permanent refusal, the duplicate window ran out, or
   * the connection closed. `maybeStored` is false only when the server (or the
   * client, before sending) refused it on its only attempt: then it is surely
   * not in the stream and may be queued again; otherwise it may be.
   */
  failed(seq: number, payload: Uint8Array, error: NetchanError, maybeStored: boolean): void;
  /** Optional: value `seq` is stored at stream sequence `streamSeq` (called before `acked`). */
  stored?(seq: number, streamSeq: number): void;
}

interface Pending {
  readonly seq: number;
  readonly payload: Uint8Array;
  /** When the first attempt went out (retries must end within the duplicate window). */
  readonly since: number;
  attempts: number;
  retry: Subscription | null;
}

/**
 * Publishes one producer's values into a channel's stream, at most
 * `maxOutstanding` awaiting their PubAck (credit-based backpressure, like a
 * binding's window). Each value carries `Nats-Msg-Id: <producerId>-<seq>`, so
 * when a PubAck is lost (timeout, a dropped connection, a stream leader
 * failing over) the value is published again under the same id and the
 * server stores it once, as long as the retry falls inside the stream's
 * duplicate window. After a reconnect every unacknowledged value is published
 * again at once. Values keep their order except around a retry.
 *
 * ```
 * send:    a b c d          (credit 2)
 * publish: a b - - c d
 * PubAck:      a b    c d
 * acked:       1 2    3 4
 * ```
 *
 * ## Example
 * ```ts
 * const pub = new JetStreamPublisher(nc, { channel: 'jobs', subject: 'netchan.ch.jobs', stream: 'netchan_jobs',
 *   maxOutstanding: 64, timeout: 5_000, duplicateWindow: 120_000 }, { acked: (n) => console.log('stored up to', n), failed: console.error });
 * if (pub.credit > 0) pub.send(bytes);
 * ```
 */
export class JetStreamPublisher {
  readonly producerId: string;
  /** Values handed to send(). */
  sent = 0;
  /** Every value up to here is settled (cumulative). */
  acked = 0;
  /** Highest stream sequence of a stored value (what a drain waits for). */
  lastStreamSeq = 0;
  /** PubAcks that said `duplicate`: retries the server recognised. */
  duplicates = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly js: JetStreamClient;
  private readonly scheduler: SchedulerLike;
  private readonly stopWatching: () => void;
  private readonly leaderSub: NatsSubscription;
  private state: 'open' | 'closed' = 'open';
  private idleWaiters: Array<() => void> = [];

  constructor(
    nc: NatsConnection,
    private readonly config: JetStreamPublisherConfig,
    private readonly events: PublisherEvents,
  ) {
    this.producerId = config.producerId ?? nuid.next();
    this.js = jetstream(nc);
    this.scheduler = config.scheduler ?? asyncScheduler;
    this.stopWatching = watchStatus(nc, (s) => {
      // The old connection may have taken PubAcks with it: publish everything again now.
      if (s.type === 'reconnect') this.republishAll();
    });
    // A new stream leader after a failover: whatever waits for a retry can go now.
    this.leaderSub = nc.subscribe(`$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.${config.stream}`, { callback: () => this.republishAll() });
  }

  /** Values that may be sent now. */
  get credit(): number {
    return this.state === 'open' ? Math.max(0, this.config.maxOutstanding - this.pending.size) : 0;
  }

  /** Values sent and not settled. */
  get unacked(): number {
    return this.pending.size;
  }

  /**
   * Publishes one value; returns its sequence number.
   * @throws NetchanError `'EOVERFLOW'` without credit, `'ECLOSED'` after close().
   */
  send(payload: Uint8Array): number {
    if (this.state !== 'open') throw new NetchanError('ECLOSED', `channel "${this.config.channel}": publisher is closed`);
    if (this.pending.size >= this.config.maxOutstanding) {
      throw new NetchanError('EOVERFLOW', `channel "${this.config.channel}": ${this.pending.size} publishes outstanding, no credit`);
    }
    const p: Pending = { seq: ++this.sent, payload, since: Date.now(), attempts: 0, retry: null };
    this.pending.set(p.seq, p);
    this.publish(p);
    return p.seq;
  }

  /** Resolves once nothing is outstanding (at once if nothing is). */
  idle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops publishing and retrying. Values still outstanding are reported to
   * `failed` with `'ECLOSED'` (they may or may not have been stored).
   */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.stopWatching();
    this.leaderSub.unsubscribe();
    const left = [...this.pending.values()];
    for (const p of left) p.retry?.unsubscribe();
    for (const p of left) this.fail(p, new NetchanError('ECLOSED', `channel "${this.config.channel}": publisher closed before value ${p.seq} was acknowledged`), true);
  }

  private publish(p: Pending): void {
    p.retry?.unsubscribe();
    p.retry = null;
    p.attempts++;
    this.js
      .publish(this.config.subject, p.payload, {
        msgID: `${this.producerId}-${p.seq}`,
        timeout: this.config.timeout,
        expect: { streamName: this.config.stream },
      })
      .then(
        (ack) => this.stored(p, ack),
        (e: unknown) => this.attemptFailed(p, e),
      );
  }

  private stored(p: Pending, ack: PubAck): void {
    // An earlier or later attempt may have settled it already.
    if (this.pending.get(p.seq) !== p) return;
    if (ack.duplicate) this.duplicates++;
    if (ack.seq > this.lastStreamSeq) this.lastStreamSeq = ack.seq;
    this.events.stored?.(p.seq, ack.seq);
    this.settle(p);
  }

  private attemptFailed(p: Pending, e: unknown): void {
    if (this.pending.get(p.seq) !== p || this.state !== 'open') return;
    if (isClosed(e)) {
      this.fail(p, toNetchanError(e, `channel "${this.config.channel}": publish`), true);
      return;
    }
    const age = Date.now() - p.since;
    // Stop early enough that the retry, with its own timeout, is still inside the window.
    const budget = this.config.duplicateWindow - this.config.timeout;
    if (!isTransient(e) || age >= budget) {
      const why = isTransient(e)
        ? new NetchanError('ETIMEDOUT', `channel "${this.config.channel}": value ${p.seq} not acknowledged within the duplicate window (${this.config.duplicateWindow} ms); not retried, so it is stored at most once`, { cause: e })
        : toNetchanError(e, `channel "${this.config.channel}": the stream refused value ${p.seq}`);
      // Refused outright (an API error from the server, or too big to send) on the first attempt: surely not stored.
      this.fail(p, why, isTransient(e) || p.attempts > 1 || !isRefusal(e));
      return;
    }
    if (p.retry) return; // a reconnect already re-sent it
    const wait = Math.min(2_000, 50 * 2 ** Math.min(p.attempts, 6));
    p.retry = this.scheduler.schedule(() => {
      p.retry = null;
      if (this.pending.get(p.seq) === p && this.state === 'open') this.publish(p);
    }, Math.min(wait, Math.max(0, budget - age)));
  }

  private republishAll(): void {
    if (this.state !== 'open') return;
    for (const p of [...this.pending.values()]) {
      if (Date.now() - p.since < this.config.duplicateWindow - this.config.timeout) this.publish(p);
    }
  }

  private fail(p: Pending, error: NetchanError, maybeStored: boolean): void {
    if (this.pending.get(p.seq) !== p) return;
    this.settle(p);
    this.events.failed(p.seq, p.payload, error, maybeStored);
  }

  private settle(p: Pending): void {
    p.retry?.unsubscribe();
    this.pending.delete(p.seq);
    const before = this.acked;
    while (this.acked < this.sent && !this.pending.has(this.acked + 1)) this.acked++;
    if (this.acked !== before) this.events.acked(this.acked);
    if (this.pending.size === 0 && this.idleWaiters.length > 0) {
      const ws = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of ws) w();
    }
  }
}
