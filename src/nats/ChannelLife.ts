import type { Subscription as RxSubscription } from 'rxjs';
import type { Subscription } from '@nats-io/transport-node';
import { NetchanError } from '../errors/NetchanError.js';
import { remoteError } from '../errors/remoteError.js';
import type { ChannelNames } from './channelNames.js';
import { mergeRecord, parseRecord, readRecords, type ProducerRecord } from './controlRecords.js';
import { Liveness } from './Liveness.js';
import type { NatsEndpoint } from './NatsEndpoint.js';
import { watchStatus } from './watchStatus.js';

/** What a receiver of the channel is told, once. */
export interface LifeListener {
  /** Every producer is finished and every value up to the last END is acknowledged. */
  completed(): void;
  /** A producer errored the channel. */
  failed(error: NetchanError): void;
}

/** How often producers that are still `open` are asked whether they live, once some producer has ended. */
const PROBE_EVERY = 500;

/**
 * The end of a channel as its receivers on one connection see it, from the
 * producers' records (controlRecords.ts): an `error` record fails them at
 * once; they complete once some producer has ended, no producer with an
 * `open` record still lives (its connection answers), and the channel's
 * consumer has nothing pending or unacknowledged with its ack floor at or
 * past the last END's sequence: every value sent before the last
 * `complete()` has been received and acknowledged (by some receiver).
 *
 * It reads the records once (and again after a reconnect) and follows new
 * ones on the control subject. Liveness is asked only while some producer
 * has ended and others are open (every {@link PROBE_EVERY} ms, and on every
 * new record). A producer whose connection is down at that moment counts as
 * gone: a run can complete while one of its producers is cut off.
 */
export class ChannelLife {
  private readonly listeners = new Set<LifeListener>();
  private readonly records = new Map<string, ProducerRecord>();
  private state: 'idle' | 'watching' | 'over' = 'idle';
  private sub: Subscription | null = null;
  private stopStatus: (() => void) | null = null;
  private stopDrain: (() => void) | null = null;
  private probeTimer: RxSubscription | null = null;
  private probing = false;
  /** Bumped on every change of the records: an evaluation started before a change does not conclude. */
  private version = 0;
  private retry: RxSubscription | null = null;

  constructor(
    private readonly ep: NatsEndpoint,
    private readonly names: ChannelNames,
    /** Called once nobody listens any more (the endpoint forgets it). */
    private readonly onIdle: (life: ChannelLife) => void,
  ) {}

  /** Tells `l` how the channel ends. Returns the remover. */
  listen(l: LifeListener): () => void {
    this.listeners.add(l);
    if (this.state === 'idle') this.start();
    return () => {
      if (this.listeners.delete(l) && this.listeners.size === 0) this.stop();
    };
  }

  private start(): void {
    this.state = 'watching';
    const { nc } = this.ep;
    this.sub = nc.subscribe(`${this.names.control}.*`, {
      callback: (_err, msg) => {
        const r = parseRecord(msg.subject.slice(this.names.control.length + 1), msg.data, 0);
        if (r !== null && mergeRecord(this.records, r)) this.changed();
      },
    });
    // Records written while disconnected reach nobody live: read them again.
    this.stopStatus = watchStatus(nc, (s) => {
      if (s.type === 'reconnect') this.snapshot();
    });
    this.snapshot();
  }

  private snapshot(): void {
    readRecords(this.ep.jsm, this.ep.config, this.names).then(
      (snap) => {
        if (this.state !== 'watching') return;
        let moved = false;
        for (const r of snap.records.values()) moved = mergeRecord(this.records, r) || moved;
        // Evaluate even with nothing new: the first read decides a channel already complete.
        this.changed(moved);
      },
      (e: unknown) => {
        if (this.state !== 'watching') return;
        this.ep.report(e instanceof NetchanError ? e : new NetchanError('EPROTO', `channel "${this.names.channel}": cannot read its producers' records: ${(e as Error).message}`, { cause: e }));
        // Try again a little later; the live subscription keeps running meanwhile.
        this.retry?.unsubscribe();
        this.retry = this.ep.scheduler.schedule(() => {
          this.retry = null;
          this.snapshot();
        }, 1_000);
      },
    );
  }

  private changed(moved = true): void {
    if (moved) this.version++;
    this.evaluate();
  }

  private evaluate(): void {
    if (this.state !== 'watching') return;
    const all = [...this.records.values()];
    const failed = all.find((r) => r.state === 'error');
    if (failed) {
      this.finish(remoteError([0, 0, failed.code, failed.message]));
      return;
    }
    const ends = all.filter((r) => r.state === 'end');
    const open = all.filter((r) => r.state === 'open');
    if (ends.length === 0) {
      this.waitForDrain(null);
      return;
    }
    if (open.length === 0) {
      this.waitForDrain(Math.max(...ends.map((r) => r.seq)));
      return;
    }
    this.waitForDrain(null);
    this.probe(open);
  }

  /** Asks each open producer whether it lives; if none does, waits for the drain (unless records changed meanwhile). */
  private probe(open: ProducerRecord[]): void {
    if (this.probing) return;
    this.probing = true;
    const version = this.version;
    Promise.all(open.map((r) => Liveness.probe(this.ep.nc, r.live))).then((found) => {
      this.probing = false;
      if (this.state !== 'watching') return;
      if (version !== this.version) {
        this.evaluate();
        return;
      }
      if (found.every((a) => a === 'gone')) {
        const ends = [...this.records.values()].filter((r) => r.state === 'end');
        this.waitForDrain(Math.max(...ends.map((r) => r.seq)), version);
        return;
      }
      this.probeTimer?.unsubscribe();
      this.probeTimer = this.ep.scheduler.schedule(() => {
        this.probeTimer = null;
        this.evaluate();
      }, PROBE_EVERY);
    });
  }

  /** With `through` set: completes once the consumer is drained and acknowledged through it; null stops waiting. */
  private waitForDrain(through: number | null, version = this.version): void {
    this.stopDrain?.();
    this.stopDrain = null;
    if (through === null) return;
    this.stopDrain = this.ep.watch(this.names).listen(
      (p) => {
        if (version !== this.version || !p.drained || p.receivedThrough < through) return;
        this.finish(null);
      },
      (e) => this.finish(e),
    );
  }

  private finish(error: NetchanError | null): void {
    if (this.state !== 'watching') return;
    const ls = [...this.listeners];
    this.stop();
    this.state = 'over';
    for (const l of ls) {
      if (error) l.failed(error);
      else l.completed();
    }
  }

  private stop(): void {
    if (this.state !== 'watching') return;
    this.state = 'idle';
    this.listeners.clear();
    this.sub?.unsubscribe();
    this.sub = null;
    this.stopStatus?.();
    this.stopStatus = null;
    this.stopDrain?.();
    this.stopDrain = null;
    this.probeTimer?.unsubscribe();
    this.probeTimer = null;
    this.retry?.unsubscribe();
    this.retry = null;
    this.records.clear();
    this.onIdle(this);
  }
}
