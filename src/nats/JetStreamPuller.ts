import { asyncScheduler, type SchedulerLike, type Subscription as RxSubscription } from 'rxjs';
import { createInbox, nanos, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { JetStreamManager } from '@nats-io/jetstream';
import { NetchanError } from '../errors/NetchanError.js';
import { JsCode, apiErrorCode } from './natsErrors.js';
import { RecentSet } from './RecentSet.js';
import { watchStatus } from './watchStatus.js';

/** Settings of one {@link JetStreamPuller} (one import of a channel). */
export interface JetStreamPullerConfig {
  /** The channel, for error messages. */
  channel: string;
  stream: string;
  /** The channel's shared durable consumer. */
  consumer: string;
  /** Most values delivered to this import and not yet acknowledged (`size`). At least 1. */
  window: number;
  /** Values to take in all (`count`), then pull no more. Defaults to Infinity. */
  limit?: number;
  /** The consumer's `ack_wait` in ms: values held longer get `working()` every third of it. */
  ackWait: number;
  /** Send `+WPI` for values held a third of `ack_wait`. Defaults to true; false lets `ack_wait` redeliver them. */
  keepAlive?: boolean;
  /**
   * Ask the server to confirm each acknowledgement, and send it again until it
   * does (a reconnect, a consumer leader failing over). Without it a lost
   * acknowledgement means a redelivery after `ack_wait`, possibly to another
   * importer. Defaults to true.
   */
  confirmAcks?: boolean;
  /** Stream sequences of acknowledged values remembered to recognise redeliveries. Defaults to max(8 192, 64 × window). */
  dedupMemory?: number;
  /** How long one pull request waits on the server (ms). Defaults to 10 000. */
  expires?: number;
  /** Most ms stop() waits for the server (acknowledgement confirmations, the naks going out). Defaults to 5 000. */
  stopTimeout?: number;
  /** JetStream API prefix. Defaults to `'$JS.API'`. */
  apiPrefix?: string;
  /** For the keep-alive, heartbeat and retry timers. Defaults to `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/** Where a {@link JetStreamPuller} delivers. */
export interface PullerSink {
  /**
   * A value for this import. `seq` is the import's own 1-based counter, to
   * pass to ack(); `streamSeq` identifies the value in the stream.
   */
  value(payload: Uint8Array, seq: number, streamSeq: number): void;
  /** Optional: a redelivery of a value this import holds or acknowledged was recognised and not delivered again. */
  duplicate?(streamSeq: number): void;
  /** The import cannot go on: the channel's consumer or stream is gone (`'ECLOSED'`), or the server refused the pull. */
  error(error: NetchanError): void;
}

/** An acknowledgement sent and not yet confirmed by the server. */
interface Unconfirmed {
  reply: string;
  body: Uint8Array;
  /** First sent (given up after {@link JetStreamPuller}'s confirm horizon). */
  since: number;
  /** Last sent. */
  sent: number;
}

/** One value delivered to this import and not yet acknowledged. */
interface Held {
  readonly seq: number;
  readonly streamSeq: number;
  /** The latest delivery's reply subject: where ack, nak and working go. */
  reply: string;
  /** Last time the server heard about it (delivery or working()). */
  touched: number;
}

/**
 * A pull lane: one subscription with at most one pull request outstanding, so
 * every message and status on it belongs to that request and the count of
 * values still owed is exact (a status ends the request). Two lanes let a new
 * pull go out while the other request waits on the server for values.
 */
interface Lane {
  sub: Subscription;
  /** Values the outstanding request may still deliver (0: no request). */
  owed: number;
  /** When the server last sent anything on this lane (values or heartbeats). */
  heard: number;
}

const LANES = 2;
/** Acknowledgements are sent again until confirmed for at least this long (ms). */
const CONFIRM_HORIZON = 30_000;

/** Resolves when `p` settles or after `ms`, whichever is first; leaves no timer behind. */
function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]).then(() => clearTimeout(timer));
}
const ACK = new TextEncoder().encode('+ACK');
const NAK = new TextEncoder().encode('-NAK');
const WPI = new TextEncoder().encode('+WPI');
const TERM = new TextEncoder().encode('+TERM');

/**
 * Receives one import's share of a channel from the channel's durable pull
 * consumer, never holding more than `window` values delivered and not
 * acknowledged: it pulls only what the window has room for (nats.js's
 * consume() refills on receipt, not on acknowledgement, so it cannot keep that
 * bound). Acknowledgement is explicit and per value (`ack(seq)`, in any
 * order). Values held a long time (manual acknowledgement, a slow stage) get
 * `+WPI` every third of `ack_wait`, so the server does not redeliver them
 * behind the handler's back. stop() gives every unacknowledged value back at
 * once (`-NAK`: redelivered to the other importers); an importer that
 * vanishes without stop() gets its values redelivered after `ack_wait`.
 *
 * A value redelivered to this import while it still holds it, or shortly
 * after acknowledging it (the acknowledgement was lost), is not delivered
 * twice: it is recognised by its stream sequence and acknowledged again.
 *
 * ```
 * window 2:   pull(2)  a b        ack(1) pull(1)  c      ack(2) ack(3) pull(2) …
 * delivered:           1 2                        3
 * ```
 */
export class JetStreamPuller {
  /** Values delivered to the sink. */
  received = 0;
  /** Redeliveries recognised and not delivered again. */
  duplicates = 0;
  private readonly held = new Map<number, Held>();
  private readonly byStreamSeq = new Map<number, Held>();
  private readonly recent: RecentSet;
  /** Reply subjects of the last acknowledgements (a ring): sent again after a reconnect. */
  private readonly lastAcks: string[] = [];
  private lastAcksAt = 0;
  private readonly lastAcksMax: number;
  private readonly unconfirmed = new Map<number, Unconfirmed>();
  private ackSub: Subscription | null = null;
  private readonly ackInbox = createInbox();
  private confirmTimer: RxSubscription | null = null;
  private confirmWaiters: Array<() => void> = [];
  private readonly lanes: Lane[] = [];
  private readonly scheduler: SchedulerLike;
  private readonly limit: number;
  private readonly expires: number;
  private readonly heartbeat: number;
  private readonly nextSubject: string;
  private state: 'idle' | 'pulling' | 'stopped' | 'failed' = 'idle';
  private stopWatching: (() => void) | null = null;
  private leaderSub: Subscription | null = null;
  private keepAliveTimer: RxSubscription | null = null;
  private watchdog: RxSubscription | null = null;
  private retry: RxSubscription | null = null;
  private backoff = 0;
  private stopping: Promise<void> | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly config: JetStreamPullerConfig,
    private readonly sink: PullerSink,
  ) {
    if (!Number.isInteger(config.window) || config.window < 1) {
      throw new NetchanError('EPROTO', `channel "${config.channel}": window must be an integer >= 1, not ${config.window}`);
    }
    this.scheduler = config.scheduler ?? asyncScheduler;
    this.limit = config.limit ?? Infinity;
    this.expires = config.expires ?? 10_000;
    // Idle heartbeats show that a waiting request is still alive (a crashed leader sends no 409).
    this.heartbeat = Math.min(5_000, Math.max(500, Math.floor(this.expires / 5)));
    this.recent = new RecentSet(config.dedupMemory ?? Math.max(8_192, 64 * config.window));
    this.lastAcksMax = Math.min(4_096, Math.max(256, 4 * config.window));
    this.nextSubject = `${config.apiPrefix ?? '$JS.API'}.CONSUMER.MSG.NEXT.${config.stream}.${config.consumer}`;
  }

  /** Values delivered and not yet acknowledged. */
  get unacked(): number {
    return this.held.size;
  }

  /** Acknowledgements sent and not yet confirmed by the server. */
  get unconfirmedAcks(): number {
    return this.unconfirmed.size;
  }

  /** Starts pulling. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'pulling';
    for (let i = 0; i < LANES; i++) this.lanes.push(this.openLane());
    if (this.config.confirmAcks !== false) {
      this.ackSub = this.nc.subscribe(`${this.ackInbox}.*`, { callback: (_err, msg) => this.onAckReply(msg) });
    }
    // A new consumer leader (failover) knows nothing of requests made to the old one: pull afresh at once.
    this.leaderSub = this.nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.LEADER_ELECTED.${this.config.stream}.${this.config.consumer}`, {
      callback: () => {
        this.resetLanes();
        this.resendUnconfirmed(0);
      },
    });
    this.stopWatching = watchStatus(this.nc, (s) => {
      if (s.type === 'close') {
        this.fail(new NetchanError('ECLOSED', `channel "${this.config.channel}": the NATS connection closed`));
        return;
      }
      if (s.type !== 'reconnect') return;
      // Requests made on the old connection died with its subscriptions: start afresh.
      this.resetLanes();
      // Acknowledgements in flight may have died too.
      this.resendUnconfirmed(0);
      this.reackRecent();
    });
    this.pull();
  }

  /** Acknowledges value `seq` (any order); unknown or repeated sequences are ignored. */
  ack(seq: number): void {
    const h = this.held.get(seq);
    if (!h) return;
    this.release(h);
    this.recent.add(h.streamSeq);
    this.settle(h, ACK);
    this.pull();
  }

  /** Gives value `seq` back for redelivery (to any importer), after `delayMs` if given. */
  nak(seq: number, delayMs?: number): void {
    const h = this.held.get(seq);
    if (!h) return;
    this.release(h);
    this.send(h.reply, delayMs ? new TextEncoder().encode(`-NAK ${JSON.stringify({ delay: nanos(delayMs) })}`) : NAK);
    this.pull();
  }

  /** Drops value `seq` for good: never redelivered (a value that cannot be decoded). */
  term(seq: number): void {
    const h = this.held.get(seq);
    if (!h) return;
    this.release(h);
    this.recent.add(h.streamSeq);
    this.settle(h, TERM);
    this.pull();
  }

  /** Tells the server value `seq` is still being processed (resets its `ack_wait`). */
  working(seq: number): void {
    const h = this.held.get(seq);
    if (!h) return;
    h.touched = Date.now();
    this.send(h.reply, WPI);
  }

  /**
   * Stops pulling and gives back every value not acknowledged (`-NAK`), so
   * the other importers get them at once. Values arriving meanwhile go back
   * too. Idempotent; resolves once the server has the naks.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.state = 'stopped';
    this.clearTimers();
    this.leaderSub?.unsubscribe();
    const limit = this.config.stopTimeout ?? 5_000;
    // drain(): unsubscribe, but still take what the server sent before it saw that.
    // (Bounded: while disconnected it would wait for the reconnect.)
    await bounded(Promise.all(this.lanes.map((l) => l.sub.drain().catch(() => undefined))), Math.min(1_000, limit));
    for (const l of this.lanes) if (!l.sub.isClosed()) l.sub.unsubscribe();
    for (const h of [...this.held.values()]) {
      this.release(h);
      this.send(h.reply, NAK);
    }
    // A lost acknowledgement would send its value to another importer: wait (a while) for the confirmations.
    if (this.unconfirmed.size > 0 && !this.nc.isClosed()) {
      this.resendUnconfirmed(0);
      await this.confirmed(limit);
    }
    this.stopWatching?.();
    this.confirmTimer?.unsubscribe();
    this.confirmTimer = null;
    this.unconfirmed.clear();
    this.ackSub?.unsubscribe();
    if (!this.nc.isClosed()) await bounded(this.nc.flush().catch(() => undefined), Math.min(1_000, limit));
  }

  /**
   * A server that crashed (rather than a connection that dropped) comes back
   * from its store, where the newest acknowledgements may be missing although
   * it confirmed them: without this they come back after `ack_wait`. Sending
   * the last ones again costs nothing (an acknowledged value is not affected).
   */
  private reackRecent(): void {
    for (const reply of this.lastAcks) this.send(reply, ACK);
  }

  /** Acknowledges (or terminates) `h`, asking for a confirmation unless configured not to. */
  private settle(h: Held, body: Uint8Array): void {
    if (body === ACK) {
      this.lastAcks[this.lastAcksAt] = h.reply;
      this.lastAcksAt = (this.lastAcksAt + 1) % this.lastAcksMax;
    }
    if (this.ackSub === null) {
      this.send(h.reply, body);
      return;
    }
    const now = Date.now();
    this.unconfirmed.set(h.streamSeq, { reply: h.reply, body, since: now, sent: now });
    this.sendForConfirmation(h.streamSeq, h.reply, body);
    this.armConfirm();
  }

  private sendForConfirmation(streamSeq: number, reply: string, body: Uint8Array): void {
    try {
      this.nc.publish(reply, body, { reply: `${this.ackInbox}.${streamSeq}` });
    } catch {
      // Closed: nothing more to do; the server redelivers after ack_wait.
    }
  }

  private onAckReply(msg: Msg): void {
    const streamSeq = Number(msg.subject.slice(this.ackInbox.length + 1));
    const u = this.unconfirmed.get(streamSeq);
    if (!u) return;
    // 503: nobody took it (no consumer leader at that moment); the timer sends it again.
    if (msg.headers && msg.headers.code === 503) return;
    this.unconfirmed.delete(streamSeq);
    if (this.unconfirmed.size === 0 && this.confirmWaiters.length > 0) {
      const ws = this.confirmWaiters;
      this.confirmWaiters = [];
      for (const w of ws) w();
    }
  }

  /** Sends again every acknowledgement unconfirmed for `olderThan` ms; drops those past the horizon. */
  private resendUnconfirmed(olderThan: number): void {
    const now = Date.now();
    // Past ack_wait the value may have gone to another importer, but a consumer without a leader
    // redelivers nothing: keep trying through a failover (an election takes seconds).
    const horizon = Math.max(2 * this.config.ackWait, CONFIRM_HORIZON);
    for (const [streamSeq, u] of this.unconfirmed) {
      if (now - u.since > horizon) {
        this.unconfirmed.delete(streamSeq);
      } else if (now - u.sent >= olderThan) {
        u.sent = now;
        this.sendForConfirmation(streamSeq, u.reply, u.body);
      }
    }
  }

  /** While acknowledgements are unconfirmed, sends the slow ones again. */
  private armConfirm(): void {
    if (this.confirmTimer !== null) return;
    const period = Math.max(50, Math.min(1_000, Math.floor(this.config.ackWait / 4)));
    this.confirmTimer = this.scheduler.schedule(() => {
      this.confirmTimer = null;
      if (this.unconfirmed.size === 0) return;
      this.resendUnconfirmed(period);
      if (this.unconfirmed.size > 0) this.armConfirm();
    }, period);
  }

  /** Resolves when every acknowledgement is confirmed, or after `ms`. */
  private confirmed(ms: number): Promise<void> {
    if (this.unconfirmed.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.confirmWaiters.push(done);
      this.armConfirm();
    });
  }

  private openLane(): Lane {
    const lane: Lane = { sub: null as unknown as Subscription, owed: 0, heard: 0 };
    lane.sub = this.nc.subscribe(createInbox(), { callback: (_err, msg) => this.onMessage(lane, msg) });
    return lane;
  }

  /** Forgets every outstanding request: new inboxes, so late answers to old ones go nowhere. */
  private resetLanes(): void {
    if (this.state !== 'pulling') return;
    for (let i = 0; i < this.lanes.length; i++) this.replaceLane(i);
    this.pull();
  }

  private replaceLane(i: number): void {
    const old = this.lanes[i]!;
    old.owed = 0;
    old.sub.unsubscribe();
    this.lanes[i] = this.openLane();
  }

  /** Room for more: window minus held minus owed, and no more than `limit` in all. */
  private credit(): number {
    let owed = 0;
    for (const l of this.lanes) owed += l.owed;
    return Math.min(this.config.window - this.held.size - owed, this.limit - this.received - owed);
  }

  private pull(): void {
    if (this.state !== 'pulling' || this.retry !== null) return;
    const credit = this.credit();
    if (credit <= 0) return;
    const free = this.lanes.find((l) => l.owed === 0);
    if (!free) return;
    // Silly-window avoidance: with a request already waiting, ask again only for a real batch.
    const busy = this.lanes.some((l) => l.owed > 0);
    if (busy && credit * 4 < this.config.window) return;
    free.owed = credit;
    free.heard = Date.now();
    const request = { batch: credit, expires: nanos(this.expires), idle_heartbeat: nanos(this.heartbeat) };
    try {
      this.nc.publish(this.nextSubject, JSON.stringify(request), { reply: free.sub.getSubject() });
    } catch (e) {
      free.owed = 0;
      this.fail(new NetchanError('ECLOSED', `channel "${this.config.channel}": cannot pull: ${(e as Error).message}`, { cause: e }));
      return;
    }
    this.armWatchdog();
    // The other lane may take the rest of the credit later.
  }

  private onMessage(lane: Lane, msg: Msg): void {
    lane.heard = Date.now();
    const h = msg.headers;
    if (h && h.code > 0 && msg.data.length === 0 && !msg.reply) {
      this.onStatus(lane, h.code, h.description);
      return;
    }
    const reply = msg.reply;
    const info = parseDelivery(reply);
    if (info === null || reply === undefined) return; // not a JetStream delivery: ignore
    if (this.state !== 'pulling' || lane.owed === 0 || this.held.size >= this.config.window || this.received >= this.limit) {
      // More than was asked for (a request from before a reset, or arriving while stopping): give it back.
      this.send(reply, NAK);
      return;
    }
    lane.owed--;
    const known = this.byStreamSeq.get(info.streamSeq);
    if (known) {
      // ack_wait ran out while we hold it: keep the newest delivery for the acknowledgement, deliver nothing.
      known.reply = reply;
      known.touched = Date.now();
      this.duplicates++;
      this.sink.duplicate?.(info.streamSeq);
      this.pull();
      return;
    }
    if (this.recent.has(info.streamSeq)) {
      // Our acknowledgement was lost: acknowledge again, deliver nothing.
      this.duplicates++;
      this.send(reply, ACK);
      this.sink.duplicate?.(info.streamSeq);
      this.pull();
      return;
    }
    const held: Held = { seq: ++this.received, streamSeq: info.streamSeq, reply, touched: Date.now() };
    this.held.set(held.seq, held);
    this.byStreamSeq.set(held.streamSeq, held);
    if (this.config.keepAlive !== false) this.armKeepAlive();
    this.backoff = 0;
    this.sink.value(msg.data, held.seq, held.streamSeq);
    if (this.state === 'pulling') this.pull();
  }

  private onStatus(lane: Lane, code: number, description: string): void {
    if (code === 100) return; // idle heartbeat: the request is alive
    lane.owed = 0;
    if (this.state !== 'pulling') return;
    if (code === 404 || code === 408) {
      // No values (no_wait) or the request expired: ask again.
      this.pull();
      return;
    }
    if (code === 409 && /consumer deleted/i.test(description)) {
      this.fail(new NetchanError('ECLOSED', `channel "${this.config.channel}": its consumer was deleted (the channel was hung up)`));
      return;
    }
    if (code === 503) {
      // No responders: no consumer, or no leader yet (an election). Find out which.
      this.checkConsumer();
      return;
    }
    if (code === 409 && /leadership change/i.test(description)) {
      this.pull();
      return;
    }
    if (code === 409 && /exceeded max/i.test(description)) {
      // Limits of the consumer (max_waiting, max_batch …): wait a little and try again.
      this.pullLater();
      return;
    }
    this.fail(new NetchanError('EPROTO', `channel "${this.config.channel}": the server refused a pull: ${code} ${description}`));
  }

  private checkConsumer(): void {
    this.jsm.consumers.info(this.config.stream, this.config.consumer).then(
      () => this.pullLater(),
      (e: unknown) => {
        const code = apiErrorCode(e);
        if (code === JsCode.ConsumerNotFound || code === JsCode.StreamNotFound) {
          this.fail(new NetchanError('ECLOSED', `channel "${this.config.channel}": its stream or consumer no longer exists (the channel was hung up)`, { cause: e }));
        } else {
          this.pullLater();
        }
      },
    );
  }

  private pullLater(): void {
    if (this.state !== 'pulling' || this.retry !== null) return;
    const wait = Math.min(2_000, 50 * 2 ** this.backoff++);
    this.retry = this.scheduler.schedule(() => {
      this.retry = null;
      this.pull();
    }, wait);
  }

  /** While a request is outstanding, checks it is still heard from; a silent one is given up (its server died). */
  private armWatchdog(): void {
    if (this.watchdog !== null) return;
    const limit = 2 * this.heartbeat + 500;
    this.watchdog = this.scheduler.schedule(() => {
      this.watchdog = null;
      if (this.state !== 'pulling') return;
      const now = Date.now();
      let waiting = false;
      for (let i = 0; i < this.lanes.length; i++) {
        const l = this.lanes[i]!;
        if (l.owed > 0 && now - l.heard > limit) this.replaceLane(i);
        else if (l.owed > 0) waiting = true;
      }
      if (waiting) this.armWatchdog();
      this.pull();
    }, this.heartbeat);
  }

  /** While values are held, tells the server every third of ack_wait that they are still being worked on. */
  private armKeepAlive(): void {
    if (this.keepAliveTimer !== null) return;
    const period = Math.max(10, Math.floor(this.config.ackWait / 3));
    this.keepAliveTimer = this.scheduler.schedule(() => {
      this.keepAliveTimer = null;
      if (this.state !== 'pulling' || this.held.size === 0) return;
      const now = Date.now();
      for (const h of this.held.values()) {
        if (now - h.touched >= period) {
          h.touched = now;
          this.send(h.reply, WPI);
        }
      }
      this.armKeepAlive();
    }, period);
  }

  private release(h: Held): void {
    this.held.delete(h.seq);
    this.byStreamSeq.delete(h.streamSeq);
  }

  private send(subject: string, body: Uint8Array): void {
    try {
      this.nc.publish(subject, body);
    } catch {
      // Closed connection: the server redelivers after ack_wait; nothing else to do.
    }
  }

  private fail(error: NetchanError): void {
    if (this.state !== 'pulling') return;
    this.state = 'failed';
    this.clearTimers();
    this.sink.error(error);
  }

  private clearTimers(): void {
    this.keepAliveTimer?.unsubscribe();
    this.watchdog?.unsubscribe();
    this.retry?.unsubscribe();
    this.keepAliveTimer = this.watchdog = this.retry = null;
  }
}

/**
 * Reads stream sequence and delivery count from a JetStream ack subject:
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`
 * (servers before 2.10), or the 2.10+ form with domain and account hash
 * before the stream (12 tokens or more). Null if it is not one.
 */
export function parseDelivery(reply: string | undefined): { streamSeq: number; deliveryCount: number } | null {
  if (!reply || !reply.startsWith('$JS.ACK.')) return null;
  const t = reply.split('.');
  let at: number;
  if (t.length === 9) at = 4;
  else if (t.length >= 12) at = 6;
  else return null;
  const deliveryCount = Number(t[at]);
  const streamSeq = Number(t[at + 1]);
  if (!Number.isSafeInteger(streamSeq) || streamSeq < 1 || !Number.isSafeInteger(deliveryCount)) return null;
  return { streamSeq, deliveryCount };
}
