import { DEFAULT_MAX_WINDOW, DEFAULT_WINDOW } from '../protocol/limits.js';

/**
 * `size` value that asks for an adaptive window (the user left `size` unset):
 * the binding starts at {@link ADAPTIVE_START} values and its sender grows it
 * up to {@link ADAPTIVE_MAX} while that pays. See docs/PROTOCOL.md, "Adaptive windows".
 */
export const AUTO_WINDOW = 0;

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

/** An acknowledgement round counts as prompt when it took at most base × 3/2 + 4 ms (base: the fastest round). */
const PROMPT_SLACK_MS = 4;
/** A round slower than base × 2 + 8 ms shows values queueing at the receiver: the window shrinks back. */
const LAG_SLACK_MS = 8;
/**
 * Fastest round below which the window never grows: over a 2 ms round trip the
 * start (1,024 values) already carries 500,000 values/s, and 8 MiB of values
 * 4 GB/s; growing would only keep more values in memory (loopback, a LAN).
 */
const MIN_GROW_ROUND_MS = 2;
/** Idle this long (or four fastest rounds, if longer) halves what the window grew by, once per period. */
const IDLE_MS = 250;

/**
 * The sender's side of an adaptive window (a binding whose `size` the user
 * left unset), after TCP's slow start and Cap'n Web's stream window, but
 * driven by acknowledgements only:
 *
 * - One value per round is timed from its write to the acknowledgement that
 *   covers it (like TCP's RTT timing); the fastest round seen is the base.
 *   Below a base of 2 ms the window never grows (it is not what limits).
 * - A round in which the window filled up (the sender was window-limited)
 *   and that came back promptly (close to the base: the receiver keeps up)
 *   grows the window: doubling per round at first (slow start), by a quarter
 *   of the start once a round has come back late.
 * - A late round (values waited at the receiver: a slow consumer, manual
 *   acknowledgements that lag) never grows it; a very late one shrinks it by a
 *   quarter, never below the start. A slow consumer therefore holds the
 *   sender exactly as a fixed window of the start's size does.
 * - Idle time halves the growth once per idle period.
 *
 * The window never goes below `start` nor above `max`; the caller adds the
 * byte bounds. Time is the endpoint scheduler's, so marble tests see it in
 * virtual time. Allocation-free; one timing per round.
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
  /** The window filled up during this round. */
  private limited = false;
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

  /** Value `seq` was written; `unacked` values are in flight with it. Reads the clock once per round. */
  sent(seq: number, unacked: number, clock: { now(): number }): void {
    if (this.probe === 0) {
      const now = clock.now();
      if (now - this.lastActive >= this.idlePeriod && this.size > this.start) this.decay(now);
      this.lastActive = now;
      this.probe = seq;
      this.probeAt = now;
    }
    if (unacked >= this.size) this.limited = true;
  }

  /**
   * Values up to `seq` were acknowledged at `now`. `room`: the connection's
   * byte budget allows growing. Returns true when the window grew.
   */
  acked(seq: number, now: number, room: boolean): boolean {
    this.lastActive = now;
    if (this.probe === 0 || seq < this.probe) return false;
    const round = now - this.probeAt;
    this.probe = 0;
    if (round < this.base) this.base = round;
    const limited = this.limited;
    this.limited = false;
    const base = this.base;
    if (round <= base + base / 2 + PROMPT_SLACK_MS) {
      if (!limited || !room || this.size >= this.max || base < MIN_GROW_ROUND_MS) return false;
      this.size = Math.min(this.max, this.slowStart ? this.size * 2 : this.size + Math.max(this.start >> 2, this.size >> 3, 1));
      return true;
    }
    // Between prompt and lagging: hold. Lagging: values wait at the receiver; give some window back.
    if (round > 2 * base + LAG_SLACK_MS) {
      this.slowStart = false;
      this.size = Math.max(this.start, this.size - (this.size >> 2));
    }
    return false;
  }

  /** The link changed (a resume): the round in progress no longer measures anything, nor does the old base. */
  reset(): void {
    this.probe = 0;
    this.limited = false;
    this.base = Infinity;
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
