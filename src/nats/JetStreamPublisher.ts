import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { createInbox, headers, nuid, type Msg, type NatsConnection, type Subscription as NatsSubscription } from '@nats-io/transport-node';
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
  /** When the latest attempt went out (its PubAck is due `timeout` later). */
  sentAt: number;
  attempts: number;
  retry: Subscription | null;
}

/** A stream's answer to a publish: its PubAck, or an API error. */
interface PubAckBody {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code?: number; err_code?: number; description?: string };
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
  private readonly scheduler: SchedulerLike;
  private readonly stopWatching: () => void;
  private readonly leaderSub: NatsSubscription;
  /** PubAcks come to `<inbox>.<seq>`: one subscription for all, no request object per publish. */
  private readonly inbox = createInbox();
  private readonly ackSub: NatsSubscription;
  private timeoutTimer: Subscription | null = null;
  private state: 'open' | 'closed' = 'open';
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly nc: NatsConnection,
    private readonly config: JetStreamPublisherConfig,
    private readonly events: PublisherEvents,
  ) {
    this.producerId = config.producerId ?? nuid.next();
    this.ackSub = nc.subscribe(`${this.inbox}.*`, { callback: (_err, msg) => this.onReply(msg) });
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
    const now = Date.now();
    const p: Pending = { seq: ++this.sent, payload, since: now, sentAt: now, attempts: 0, retry: null };
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
    this.ackSub.unsubscribe();
    this.timeoutTimer?.unsubscribe();
    this.timeoutTimer = null;
    const left = [...this.pending.values()];
    for (const p of left) p.retry?.unsubscribe();
    for (const p of left) this.fail(p, new NetchanError('ECLOSED', `channel "${this.config.channel}": publisher closed before value ${p.seq} was acknowledged`), true);
  }

  /**
   * One attempt: a plain publish with `reply` set (what nats.js's js.publish()
   * does, minus the request object, promise and two Error objects per call).
   */
  private publish(p: Pending): void {
    p.retry?.unsubscribe();
    p.retry = null;
    p.attempts++;
    p.sentAt = Date.now();
    const h = headers();
    h.set('Nats-Msg-Id', `${this.producerId}-${p.seq}`);
    h.set('Nats-Expected-Stream', this.config.stream);
    try {
      this.nc.publish(this.config.subject, p.payload, { reply: `${this.inbox}.${p.seq}`, headers: h });
    } catch (e) {
      this.attemptFailed(p, e);
      return;
    }
    this.armTimeouts();
  }

  private onReply(msg: Msg): void {
    const p = this.pending.get(Number(msg.subject.slice(this.inbox.length + 1)));
    if (p === undefined || this.state !== 'open') return;
    // No responders: no stream (leader) there right now.
    if (msg.headers && msg.headers.code === 503 && msg.data.length === 0) {
      this.attemptFailed(p, Object.assign(new Error('no responders'), { name: 'NoRespondersError' }));
      return;
    }
    let body: PubAckBody;
    try {
      body = JSON.parse(new TextDecoder().decode(msg.data)) as PubAckBody;
    } catch {
      return; // not a PubAck: the timeout decides
    }
    if (body.error) {
      this.attemptFailed(p, apiError(body.error));
      return;
    }
    if (typeof body.seq !== 'number') return;
    this.stored(p, body.seq, body.duplicate === true);
  }

  /** While publishes await their PubAck, checks a few times per timeout for the late ones. */
  private armTimeouts(): void {
    if (this.timeoutTimer !== null) return;
    const period = Math.max(10, Math.min(250, Math.floor(this.config.timeout / 4)));
    this.timeoutTimer = this.scheduler.schedule(() => {
      this.timeoutTimer = null;
      if (this.state !== 'open' || this.pending.size === 0) return;
      const now = Date.now();
      for (const p of [...this.pending.values()]) {
        if (p.retry === null && now - p.sentAt >= this.config.timeout && this.pending.get(p.seq) === p) {
          this.attemptFailed(p, Object.assign(new Error('timeout'), { name: 'TimeoutError' }));
        }
      }
      if (this.pending.size > 0) this.armTimeouts();
    }, period);
  }

  private stored(p: Pending, streamSeq: number, duplicate: boolean): void {
    // An earlier or later attempt may have settled it already.
    if (this.pending.get(p.seq) !== p) return;
    if (duplicate) this.duplicates++;
    if (streamSeq > this.lastStreamSeq) this.lastStreamSeq = streamSeq;
    this.events.stored?.(p.seq, streamSeq);
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
    if (p.retry) return; // a retry is already scheduled
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

/** A JetStream API error as nats.js shapes it (natsErrors.ts classifies it by `code`, `status` and `apiError`). */
function apiError(e: NonNullable<PubAckBody['error']>): Error {
  const info = { code: e.code ?? 500, err_code: e.err_code ?? 0, description: e.description ?? 'JetStream error' };
  return Object.assign(new Error(info.description), { name: 'JetStreamApiError', code: info.err_code, status: info.code, apiError: () => info });
}
