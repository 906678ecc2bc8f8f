import { DEFAULT_MAX_WINDOW, DEFAULT_WINDOW } from '../protocol/limits.js';

/** `size` that asks for an adaptive window (see protocol/limits); re-exported for the session. */
export { AUTO_WINDOW } from '../protocol/limits.js';

/** Where an adaptive window starts: today's fixed default, so a slow consumer sees exactly what it saw before. */
export const ADAPTIVE_START = DEFAULT_WINDOW;

/** Most values an adaptive window may grow to (the receiver enforces it; 8 MiB of values in flight still bounds it). */
export const ADAPTIVE_MAX = DEFAULT_MAX_WINDOW;

/**
 * Bytes in flight over one connection past which adaptive windows stop
 * growing, and a binding that has grown sends no more than its starting window:
 * 32 MiB. (Each binding's own 8 MiB bound applies as well.)
 */
export const CONNECTION_INFLIGHT_BYTES = 32 * 1024 * 1024;

/** An acknowledgement round counts as prompt when it took at most base × 5/4 + 2 ms (base: the fastest round). */
const PROMPT_SLACK_MS = 2;
/** A round slower than base × 2 + 8 ms shows values queueing at the receiver: the window shrinks back. */
const LAG_SLACK_MS = 8;
/**
 * Fastest round below which the window never grows: over a 2 ms round trip the
 * start (1,024 values) already carries 500,000 values/s, and 8 MiB of values
 * 4 GB/s; growing would only keep more values in memory (loopback, a LAN).
 */
const MIN_GROW_ROUND_MS = 2;
/** Most a slow-start round multiplies the window by (from the start, 32 × 1,024 is half the cap). */
const MAX_STEP = 32;
/** Idle this long (or four fastest rounds, if longer) halves what the window grew by, once per period. */
const IDLE_MS = 250;

/**
 * The sender's side of an adaptive window (a binding whose `size` the user
 * left unset), after TCP's slow start and Cap'n Web's stream window, driven by
 * acknowledgements only (no extra frames):
 *
 * - One value per round is timed from its write to the acknowledgement that
 *   covers it (TCP's RTT timing); the fastest round seen is the base. Below a
 *   base of 2 ms the window never grows: it is not what limits there.
 * - The window *pays* to grow when this side filled it early in the round
 *   and values still wait in the channel's queue (window-limited: they had no
 *   room; the caller says so, and keeps a shared channel's windows at their
 *   start: see {@link share}) and the round came back
 *   promptly (at most base × 5/4 + 2 ms: the receiver keeps up). Slow start
 *   multiplies it by what this side could have filled in the round
 *   (round ÷ time to fill) or twice what the receiver could take
 *   (2 × base ÷ (round − base): its share of the round), whichever is smaller,
 *   at least 2 and at most 32; once a round has lagged,
 *   it grows by a quarter of the start (or an eighth of itself) per round.
 * - A lagging round (over base × 2 + 8 ms although the window was full early:
 *   values waited at the receiver, a slow consumer or manual acknowledgements
 *   that lag) shrinks it by a quarter, never below the start; a round between
 *   prompt and lagging holds it, and so does one that was long because this
 *   side took most of it to fill the window. A slow consumer therefore never
 *   makes it grow: it holds the sender exactly as a fixed window of the start's
 *   size does.
 * - Idle time halves what it grew by, once per idle period (250 ms, or four
 *   base rounds if longer), and slow start begins again.
 *
 * The window stays within [start, max]; the caller adds the byte bounds (8 MiB
 * per binding, {@link CONNECTION_INFLIGHT_BYTES} per connection). Time is the
 * endpoint scheduler's, so marble tests see it in virtual time. Allocation-free;
 * two clock readings per round.
 */
export class AdaptiveWindow {
  /** The window now, in values. */
  size: number;
  private slowStart = true;
  /** Sequence number of the value being timed (0: none), and when it was written. */
  private probe = 0;
  private probeAt = 0;
  /** Fastest round seen, ms. */
  private base = Infinity;
  /** Rounds timed so far (the first one sets the base only). */
  private rounds = 0;
  /** The window filled up during this round, and how long into it (ms; -1: it did not). */
  private filledAfter = -1;
  private lastActive = -Infinity;

  /** Largest window now: `cap`, or less if the receiver announced less (see {@link limitTo}). */
  private max: number;

  constructor(
    readonly start: number,
    /** Largest window on this binding: the OPEN's `max`, within this side's `maxWindow`. */
    readonly cap: number,
  ) {
    this.size = start;
    this.max = Math.max(start, cap);
  }

  /** The receiver announced it accepts at most `n` values in flight (its HELLO's `maxWindow`; 0 from a peer that adapts no window). */
  limitTo(n: number): void {
    this.max = Math.max(this.start, Math.min(this.cap, n));
    if (this.size > this.max) this.size = this.max;
  }

  /** Value `seq` was written; `unacked` values are in flight with it. Reads the clock at most twice per round. */
  sent(seq: number, unacked: number, clock: { now(): number }): void {
    if (this.probe === 0) {
      const now = clock.now();
      if (now - this.lastActive >= this.idlePeriod && this.size > this.start) this.decay(now);
      this.lastActive = now;
      this.probe = seq;
      this.probeAt = now;
    }
    if (unacked >= this.size && this.filledAfter < 0) this.filledAfter = clock.now() - this.probeAt;
  }

  /**
   * Values up to `seq` were acknowledged at `now`. `room`: growing may pay
   * (values wait in the channel's queue for window, and the connection's byte
   * budget allows more in flight). Returns true when the window grew.
   */
  acked(seq: number, now: number, room: boolean): boolean {
    this.lastActive = now;
    if (this.probe === 0 || seq < this.probe) return false;
    const round = now - this.probeAt;
    this.probe = 0;
    if (round < this.base) this.base = round;
    // The first round times the first value, which the receiver acknowledges at once: a clean
    // round trip, but blind to a queue at the receiver. Only later rounds can show one.
    if (this.rounds++ === 0) {
      this.filledAfter = -1;
      return false;
    }
    const filled = this.filledAfter;
    this.filledAfter = -1;
    const base = this.base;
    if (round <= base + base / 4 + PROMPT_SLACK_MS) {
      if (filled < 0 || !room || this.size >= this.max || base < MIN_GROW_ROUND_MS) return false;
      // Slow start: the window the sender filled in `filled` ms it could fill `round / filled`
      // times per round. The time the round took over the base is the receiver's work on
      // the window: it can take about `base / (round - base)` windows per base round, twice
      // that is plenty. Grow by the smaller, at least doubling, at most 32 times per round.
      const sender = round / Math.max(1, filled);
      const receiver = round > base ? (2 * base) / (round - base) : MAX_STEP;
      const grown = this.slowStart
        ? this.size * Math.min(MAX_STEP, Math.max(2, Math.min(sender, receiver)))
        : this.size + Math.max(this.start >> 2, this.size >> 3, 1);
      this.size = Math.min(this.max, Math.floor(grown));
      return true;
    }
    // Lagging (the window was full early in the round, yet the acknowledgements came late):
    // values wait at the receiver; give some window back. A round that was long because this
    // side took most of it to fill the window says nothing about the receiver: hold, as between.
    if (round > 2 * base + LAG_SLACK_MS && filled >= 0 && filled <= round / 2) {
      this.slowStart = false;
      this.size = Math.max(this.start, this.size - (this.size >> 2));
    }
    return false;
  }

  /** The binding shares its channel with other receivers: back to the start, as theirs (a work queue stays fair). */
  share(): void {
    this.size = this.start;
    this.slowStart = true;
  }

  /** The link changed (a resume): the round in progress no longer measures anything, nor does the old base. */
  reset(): void {
    this.probe = 0;
    this.filledAfter = -1;
    this.base = Infinity;
    this.rounds = 0;
  }

  private get idlePeriod(): number {
    return Math.max(IDLE_MS, 4 * this.base);
  }

  private decay(now: number): void {
    const periods = Math.floor((now - this.lastActive) / this.idlePeriod);
    const grown = this.size - this.start;
    this.size = this.start + (periods >= 30 ? 0 : Math.floor(grown / 2 ** periods));
    this.slowStart = true;
  }
}
