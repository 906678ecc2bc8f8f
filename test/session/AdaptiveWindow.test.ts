import { describe, expect, it } from 'vitest';
import { ADAPTIVE_MAX, ADAPTIVE_START, AdaptiveWindow } from '../../src/session/AdaptiveWindow.js';

/**
 * A sender over a link with round trip `rtt` (ms) whose producer always has
 * values waiting, in a virtual clock: each round it fills the window at once
 * (`fillMs` after the round starts) and the acknowledgement of the round's
 * first value comes back `rtt + lag(window)` ms later (`lag`: values waiting at
 * the receiver). The very first value is acknowledged at once, as a receiver
 * does on an adaptive binding (`rtt + lag(1)`). Returns the window after each round.
 */
function run(rounds: number, rtt: number, opts: { lag?: (window: number) => number; fillMs?: number; start?: number; cap?: number } = {}): number[] {
  const w = new AdaptiveWindow(opts.start ?? ADAPTIVE_START, opts.cap ?? ADAPTIVE_MAX);
  let now = 1000;
  const clock = { now: () => now };
  let seq = 0;
  let acked = 0;
  const sizes: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = now;
    const first = seq + 1;
    // Fill the window: the first value starts the round, the last one fills it.
    while (seq - acked < w.size) {
      seq++;
      if (seq - acked === w.size) now = start + (opts.fillMs ?? 0);
      w.sent(seq, seq - acked, clock);
    }
    now = start + rtt + (opts.lag?.(r === 0 ? 1 : w.size) ?? 0);
    w.acked(first, now, true);
    acked = seq; // the rest of the round's values are acknowledged with it
    w.acked(acked, now, true);
    sizes.push(w.size);
  }
  return sizes;
}

describe('AdaptiveWindow', () => {
  it('grows from its start while a long round trip limits it and the receiver keeps up, after the first round, up to the cap', () => {
    // The sender fills the window at once (in under 1 ms): it could fill it 20 times in a 20 ms round.
    const sizes = run(6, 20);
    expect(sizes[0]).toBe(ADAPTIVE_START); // the first round only measures
    expect(sizes[1]).toBe(ADAPTIVE_START * 20);
    expect(sizes[2]).toBe(ADAPTIVE_MAX);
    // Through 50 ms, at most 32 times per round.
    expect(run(2, 50)[1]).toBe(ADAPTIVE_START * 32);
  });

  it('grows by what the sender could fill in a round: a window that takes 10 of 20 ms to fill doubles', () => {
    expect(run(2, 20, { fillMs: 10 })[1]).toBe(ADAPTIVE_START * 2);
    expect(run(2, 20, { fillMs: 5 })[1]).toBe(ADAPTIVE_START * 4);
  });

  it('a slow consumer (acknowledgements lag behind the round trip) never makes it grow: it holds the sender at its start', () => {
    // The receiver takes 50 µs per value: a window of 1,024 waits ~51 ms there, more than the 20 ms round trip.
    const slow = (window: number) => window * 0.05;
    expect(new Set(run(20, 20, { lag: slow }))).toEqual(new Set([ADAPTIVE_START]));
    // 10 µs per value on loopback (a 0.1 ms round trip): the same.
    expect(new Set(run(20, 0.1, { lag: (window) => window * 0.01 }))).toEqual(new Set([ADAPTIVE_START]));
  });

  it('a consumer slower than the link but faster than the start window per round trip gets a window that keeps it busy, no more', () => {
    // 5 µs per value through 20 ms: 1,024 values take 5 ms there, the round trip 20: the window limits,
    // so it grows, to about what the consumer takes in a round trip (4,000), not past twice that.
    const sizes = run(30, 20, { lag: (window) => window * 0.005 });
    expect(sizes[1]).toBeGreaterThan(ADAPTIVE_START);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8 * ADAPTIVE_START);
    expect(sizes.at(-1)).toBeGreaterThanOrEqual(3 * ADAPTIVE_START);
    expect(sizes.at(-1)).toBeLessThanOrEqual(5 * ADAPTIVE_START);
    // 10 µs per value: its acknowledgements lag the round trip by half of it: that is a slow consumer.
    expect(new Set(run(30, 20, { lag: (window) => window * 0.01 }))).toEqual(new Set([ADAPTIVE_START]));
  });

  it('a consumer that slows down later gives the growth back, a quarter per lagging round, never below the start', () => {
    const w = run(3, 20); // grown
    expect(w.at(-1)).toBeGreaterThan(ADAPTIVE_START);
    const win = new AdaptiveWindow(ADAPTIVE_START, ADAPTIVE_MAX);
    let now = 0;
    const clock = { now: () => now };
    let seq = 0;
    const round = (ms: number) => {
      const first = seq + 1;
      const start = now;
      const n = win.size;
      for (let i = 0; i < n; i++) win.sent(++seq, i + 1, clock);
      now = start + ms;
      win.acked(first, now, true);
      win.acked(seq, now, true);
    };
    for (let i = 0; i < 3; i++) round(20);
    const grown = win.size;
    round(200); // values waited at the receiver
    expect(win.size).toBe(grown - (grown >> 2));
    for (let i = 0; i < 40; i++) round(200);
    expect(win.size).toBe(ADAPTIVE_START);
  });

  it('does not grow while the sender does not fill it (an app-limited producer)', () => {
    const w = new AdaptiveWindow(ADAPTIVE_START, ADAPTIVE_MAX);
    let now = 0;
    const clock = { now: () => now };
    for (let r = 0; r < 10; r++) {
      w.sent(r * 10 + 1, 10, clock); // 10 values in flight out of 1,024
      now += 20;
      w.acked(r * 10 + 10, now, true);
    }
    expect(w.size).toBe(ADAPTIVE_START);
  });

  it('does not grow below a 2 ms round trip (loopback, a LAN): the start is not what limits there', () => {
    expect(new Set(run(10, 1))).toEqual(new Set([ADAPTIVE_START]));
  });

  it('stops at the connection budget (no room) and at what the receiver announced', () => {
    const noRoom = driver(new AdaptiveWindow(ADAPTIVE_START, ADAPTIVE_MAX));
    noRoom.rounds(3, 20, false);
    expect(noRoom.w.size).toBe(ADAPTIVE_START);

    const old = driver(new AdaptiveWindow(ADAPTIVE_START, ADAPTIVE_MAX));
    old.w.limitTo(0); // a peer that adapts no window: the start is all it accepts
    old.rounds(3, 20);
    expect(old.w.size).toBe(ADAPTIVE_START);

    const some = driver(new AdaptiveWindow(ADAPTIVE_START, ADAPTIVE_MAX));
    some.w.limitTo(3000);
    some.rounds(3, 20);
    expect(some.w.size).toBe(3000);
  });

  it('decays when idle: half the growth per idle period, then slow start again', () => {
    const d = driver(new AdaptiveWindow(ADAPTIVE_START, ADAPTIVE_MAX));
    d.rounds(2, 2);
    expect(d.w.size).toBe(ADAPTIVE_START * 2); // a 2 ms round, filled at once: it could have been filled twice
    d.idle(250); // one idle period
    expect(d.w.size).toBe(ADAPTIVE_START + ADAPTIVE_START / 2);
    d.rounds(1, 2); // grows again from there (slow start)
    expect(d.w.size).toBe((ADAPTIVE_START + ADAPTIVE_START / 2) * 2);
    d.idle(10_000); // many: back to the start
    expect(d.w.size).toBe(ADAPTIVE_START);
  });
});

/** Drives one window: full rounds of `rtt` ms, and idle gaps (after which one value is sent). */
function driver(w: AdaptiveWindow) {
  let now = 0;
  let seq = 0;
  const clock = { now: () => now };
  return {
    w,
    rounds(n: number, rtt: number, room = true) {
      for (let r = 0; r < n; r++) {
        const first = seq + 1;
        const start = now;
        const size = w.size;
        for (let i = 1; i <= size; i++) w.sent(++seq, i, clock);
        now = start + rtt;
        w.acked(first, now, room);
        w.acked(seq, now, room);
      }
    },
    /** Nothing for `ms`, then one value, acknowledged a 20 ms round trip later. */
    idle(ms: number) {
      now += ms;
      w.sent(++seq, 1, clock);
      now += 20;
      w.acked(seq, now, true);
    },
  };
}
