// Helpers shared by the demo's processes.

/** Samples this process's RSS every 50 ms; idle is the reading at start. */
export function memorySampler() {
  const idle = process.memoryUsage.rss();
  let peak = idle;
  const samples = [];
  const t = setInterval(() => {
    const rss = process.memoryUsage.rss();
    peak = Math.max(peak, rss);
    samples.push(rss);
  }, 50);
  return {
    idle,
    stop() {
      clearInterval(t);
      // "Flat": the spread of RSS over the second half of the run.
      const tail = samples.slice(Math.floor(samples.length / 2));
      const spread = tail.length ? Math.max(...tail) - Math.min(...tail) : 0;
      return { idleRss: idle, peakRss: Math.max(peak, process.resourceUsage().maxRSS * 1024), tailSpread: spread };
    },
  };
}

/** One JSON line on stdout for the parent (demo/run.mjs). */
export function report(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** A progress bar on stderr: redrawn in place on a terminal, every 10 % otherwise; the 100 % line once. */
export function progressBar(label, total, extra = () => '') {
  const tty = process.stderr.isTTY;
  let shown = -1;
  let last = 0;
  const started = Date.now();
  const draw = (n) => {
    const frac = n / total;
    const width = 30;
    const full = Math.round(frac * width);
    const rate = Math.round((n / Math.max(1, Date.now() - started)) * 1000);
    const line = `${label} [${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.floor(frac * 100)).padStart(3)}% ${n}/${total} ${rate}/s ${extra()}`;
    if (tty) process.stderr.write(`\r${line}\x1b[K`);
    else process.stderr.write(line + '\n');
  };
  return {
    update(n) {
      const now = Date.now();
      const tenth = Math.floor((n / total) * 10);
      if (n === total) return; // done() draws the last line
      if (tty ? now - last >= 100 : tenth > shown) {
        last = now;
        shown = tenth;
        draw(n);
      }
    },
    done() {
      draw(total);
      if (tty) process.stderr.write('\n');
    },
  };
}
