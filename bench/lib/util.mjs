// Small helpers shared by the benchmark's processes.

/** Wall-clock time in ms with sub-ms resolution, comparable across processes on one machine. */
const ORIGIN = performance.timeOrigin;
export const now = () => ORIGIN + performance.now();

/** Busy work: spin for `us` microseconds (the S4 slow consumer). */
export function spin(us) {
  const end = performance.now() + us / 1000;
  while (performance.now() < end);
}

/** A promise plus its resolve function. */
export function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Percentile of a sorted array (nearest rank). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export function median(xs) {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * A round-robin "work queue" over several peer outputs: send(v) goes to the next
 * output that is writable, so N consumers compete for one stream as they would
 * for one rx-netchan channel.
 */
export class RoundRobin {
  constructor() {
    this.outs = [];
    this.next = 0;
    this.waiters = [];
  }
  add(out) {
    this.outs.push(out);
    out.onWritable = () => this.wake();
    this.wake();
  }
  remove(out) {
    const i = this.outs.indexOf(out);
    if (i >= 0) this.outs.splice(i, 1);
  }
  wake() {
    if (this.waiters.length && this.writable()) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    }
  }
  writable() {
    for (const o of this.outs) if (o.writable()) return true;
    return false;
  }
  waitWritable() {
    if (this.writable()) return Promise.resolve();
    return new Promise((res) => this.waiters.push(res));
  }
  send(v) {
    const n = this.outs.length;
    for (let k = 0; k < n; k++) {
      const o = this.outs[this.next];
      this.next = (this.next + 1) % n;
      if (o.writable()) return o.send(v);
    }
    throw new Error('RoundRobin.send: no writable output');
  }
  end() {
    for (const o of this.outs) o.end();
  }
}
