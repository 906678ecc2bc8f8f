import { filter, firstValueFrom, lastValueFrom, merge } from 'rxjs';
import type { Importer } from '../endpoint/Importer.js';
import { importChannel } from '../endpoint/importChannel.js';
import type { ExporterMetrics } from '../endpoint/Metrics.js';
import { NetchanError } from '../errors/NetchanError.js';
import { drain } from '../operators/drain.js';
import type { CliOptions } from './args.js';
import { bytes, count, duration, table, toHumanLine, toJsonLine } from './format.js';

/** Where a command writes: stdout for results, stderr for progress and messages. */
export interface Io {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  readonly stdin: NodeJS.ReadableStream;
  /** Resolves when the user interrupts (SIGINT, or stdout closed by `| head`). */
  readonly interrupted: Promise<void>;
}

export async function ls(importer: Importer, o: CliOptions, io: Io): Promise<void> {
  const channels = (await importer.listChannels()).sort((a, b) => a.name.localeCompare(b.name));
  if (o.json) {
    for (const c of channels) io.stdout.write(`${toJsonLine(c)}\n`);
    return;
  }
  if (channels.length === 0) {
    io.stderr.write('no channels\n');
    return;
  }
  io.stdout.write(`${table(['CHANNEL', 'DIR', 'IMPORT WITH'], channels.map((c) => [c.name, c.dir, c.dir === 'send' ? "'recv' (tail)" : "'send' (send)"]))}\n`);
}

export async function tail(importer: Importer, o: CliOptions, io: Io): Promise<void> {
  const colors = io.stdout.isTTY === true;
  await new Promise<void>((resolve, reject) => {
    const sub = importChannel<unknown>(importer, o.channel, 'recv', { size: o.size, ...(o.count !== undefined ? { count: o.count } : {}) }).subscribe({
      next: (v) => io.stdout.write(`${o.json ? toJsonLine(v) : toHumanLine(v, colors)}\n`),
      error: reject,
      complete: resolve,
    });
    // Unsubscribing acknowledges what was printed; the rest goes back to the exporter's queue.
    void io.interrupted.then(() => {
      sub.unsubscribe();
      resolve();
    });
  });
}

export async function send(importer: Importer, o: CliOptions, io: Io): Promise<void> {
  // A short queue: stdin is read only as fast as the window lets values out.
  const ch = importChannel<unknown>(importer, o.channel, 'send', { size: o.size, queueLimit: o.size });
  const bar = progress(io.stderr, o.channel);
  let sent = 0;
  let line = 0;
  let bad: Error | null = null;
  let stopped = false;
  void io.interrupted.then(() => {
    stopped = true;
    (io.stdin as NodeJS.ReadableStream & { destroy?(): void }).destroy?.(); // ends the read loop
  });
  const tick = setInterval(() => bar.draw(sent, sent - ch.pending), 100);
  try {
    reading: for await (const text of lines(io.stdin, () => stopped)) {
      line++;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        bad = new NetchanError('EINVAL', `stdin line ${line}: not JSON (${(e as Error).message})`);
        break reading;
      }
      if (ch.capacity === 0) {
        // Wait for room (the window frees it as values are acknowledged), or for the channel to fail or end.
        await firstValueFrom(merge(ch.capacity$.pipe(filter((room) => room > 0)), ch), { defaultValue: 0 });
      }
      if (stopped) break;
      if (ch.isStopped) throw new NetchanError('ECLOSED', `channel "${o.channel}" was ended by the exporter`);
      ch.next(value); // throws the channel's failure (ENOCHAN, EAUTH…)
      sent++;
    }
    ch.complete();
    await Promise.race([lastValueFrom(ch.pipe(drain(ch)), { defaultValue: undefined }), io.interrupted]);
  } finally {
    clearInterval(tick);
    bar.done(sent, sent - ch.pending);
  }
  if (bad) throw bad;
  if (ch.pending > 0) throw new NetchanError('ECLOSED', `interrupted with ${ch.pending} value(s) not acknowledged`);
  io.stderr.write(`sent ${count(sent)} value(s) to "${o.channel}"; every one acknowledged\n`);
}

export async function stat(importer: Importer, o: CliOptions, io: Io): Promise<void> {
  const tty = io.stdout.isTTY === true;
  let prev: ExporterMetrics | null = null;
  let stopped = false;
  void io.interrupted.then(() => (stopped = true));
  for (let i = 0; !stopped && (o.count === undefined || i < o.count); i++) {
    if (i > 0) await Promise.race([new Promise((r) => setTimeout(r, o.interval)), io.interrupted]);
    if (stopped) break;
    const m = await importer.fetchMetrics();
    const screen = renderStat(o.url, m, prev);
    // On a terminal the table is redrawn in place; piped, each refresh follows the last.
    io.stdout.write(tty ? `\x1b[H\x1b[J${screen}\n` : `${screen}\n\n`);
    prev = m;
  }
}

/** One screen of `rx-netchan stat`: channels, then connections, with rates from the previous snapshot. */
export function renderStat(url: string, m: ExporterMetrics, prev: ExporterMetrics | null): string {
  const secs = prev ? Math.max(0.001, (m.at - prev.at) / 1000) : 0;
  const rate = (now: number, before: number | undefined) => (prev === null || before === undefined ? '-' : count(Math.max(0, now - before) / secs));
  const prevCh = new Map(prev?.channels.map((c) => [`${c.dir}:${c.name}`, c]));
  const prevCl = new Map(prev?.clients.map((c) => [c.id, c]));
  const channels = m.channels.map((c) => {
    const p = prevCh.get(`${c.dir}:${c.name}`);
    const moved = c.dir === 'send' ? c.acked : c.valuesIn;
    const before = c.dir === 'send' ? p?.acked : p?.valuesIn;
    return [c.name, c.dir, String(c.bindings), count(c.window), count(c.inFlight), count(c.queued), rate(moved, before), count(c.acked), bytes(c.dir === 'send' ? c.bytesOut : c.bytesIn), String(c.errors)];
  });
  const clients = m.clients.map((c) => {
    const p = prevCl.get(c.id);
    return [
      c.id.slice(0, 8),
      c.remote,
      c.state,
      duration(m.at - c.since),
      String(c.identity ?? ''),
      String(c.bindings),
      rate(c.stats.valuesIn, p?.stats.valuesIn),
      rate(c.stats.valuesOut, p?.stats.valuesOut),
      count(c.stats.inFlight),
      c.rtt === null ? '-' : `${c.rtt < 10 ? c.rtt.toFixed(1) : Math.round(c.rtt)} ms`,
    ];
  });
  const title = `rx-netchan stat ${url}  exporter ${m.instance}  ${m.clients.length} client(s), ${m.channels.length} channel(s)  ${new Date().toISOString().slice(11, 19)}`;
  const cut = m.truncated ? `\n(${m.truncated.clients} client(s) and ${m.truncated.channels} channel(s) not shown)` : '';
  return [
    title,
    '',
    m.channels.length === 0 ? 'no channels' : table(['CHANNEL', 'DIR', 'BINDINGS>', 'WINDOW>', 'IN FLIGHT>', 'QUEUE>', 'RATE/s>', 'ACKED>', 'BYTES>', 'ERRORS>'], channels),
    '',
    table(['CLIENT', 'REMOTE', 'STATE', 'UP>', 'IDENTITY', 'BINDINGS>', 'IN/s>', 'OUT/s>', 'IN FLIGHT>', 'RTT>'], clients) + cut,
  ].join('\n');
}

/** stdin's lines, read as they are consumed (the stream's backpressure holds the writer); ends quietly once `stopped()`. */
async function* lines(input: NodeJS.ReadableStream, stopped: () => boolean): AsyncGenerator<string> {
  let rest = '';
  const chunks = (async function* () {
    try {
      yield* input as AsyncIterable<Buffer | string>;
    } catch (e) {
      if (!stopped()) throw e;
    }
  })();
  for await (const chunk of chunks) {
    rest += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let i: number;
    while ((i = rest.indexOf('\n')) >= 0) {
      yield rest.slice(0, i).replace(/\r$/, '');
      rest = rest.slice(i + 1);
    }
  }
  if (rest !== '') yield rest;
}

/** `send`'s progress on a terminal: redrawn in place; nothing when stderr is not one. */
function progress(out: NodeJS.WriteStream, channel: string) {
  const started = Date.now();
  const line = (sent: number, acked: number) => {
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    return `"${channel}": sent ${count(sent)}  acknowledged ${count(acked)}  in flight ${count(sent - acked)}  ${count(acked / secs)}/s`;
  };
  return {
    draw(sent: number, acked: number): void {
      if (out.isTTY) out.write(`\r${line(sent, acked)}\x1b[K`);
    },
    done(sent: number, acked: number): void {
      if (out.isTTY) out.write(`\r${line(sent, acked)}\x1b[K\n`);
    },
  };
}
