import { Observable } from 'rxjs';
import type { Delivery } from '../channel/Delivery.js';
import type { SendChannel } from '../channel/SendChannel.js';

/** Options of {@link streamBytes}. */
export interface StreamBytesConfig {
  /** Most chunks sent and not yet acknowledged by the receiver before reading more. Defaults to 8. */
  highWater?: number;
  /** Complete the channel when the source ends. Defaults to `true`. */
  complete?: boolean;
}

/**
 * Streams bytes through a channel end: reads `source` (a Node `Readable`, a
 * web `ReadableStream`, or any `AsyncIterable<Uint8Array>`) only as fast as
 * the receiver acknowledges, at most `highWater` chunks ahead, and completes
 * the channel at the end. Emits the bytes sent so far after each chunk;
 * completes once the source is exhausted and every chunk is acknowledged.
 * Unsubscribing stops reading (the source's iterator is returned). An error
 * of the source errors the channel.
 *
 * ## Example
 * ```ts
 * import { createReadStream } from 'node:fs';
 * const [stdout, stdoutEnd] = channelPair<Uint8Array>({ ack: 'manual' });
 * jobs.next({ cmd: 'cat', stdout: stdoutEnd });      // the server gets stdoutEnd
 * // on the server:
 * streamBytes(job.stdout, createReadStream('log.txt')).subscribe();
 * ```
 */
export function streamBytes(
  channel: SendChannel<Uint8Array>,
  source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  config: StreamBytesConfig = {},
): Observable<number> {
  const highWater = Math.max(1, config.highWater ?? 8);
  return new Observable<number>((subscriber) => {
    const it = iterate(source);
    let sent = 0;
    let done = false;
    let stopped = false;
    let wake: (() => void) | null = null;
    const stopProgress = channel.dispatcher.progress.listen(() => {
      const w = wake;
      wake = null;
      w?.();
    });
    // Waits until the receiver has acknowledged enough (or the channel failed).
    const room = (limit: number): Promise<void> =>
      channel.pending < limit || channel.dispatcher.failed || channel.dispatcher.receivers === 0 && channel.isStopped
        ? Promise.resolve()
        : new Promise<void>((resolve) => (wake = resolve)).then(() => room(limit));
    void (async () => {
      try {
        for (;;) {
          await room(highWater);
          if (stopped) return;
          const failed = channel.dispatcher.failed;
          if (failed) throw failed;
          const r = await it.next();
          if (stopped) return;
          if (r.done) break;
          const chunk = r.value instanceof Uint8Array ? r.value : new Uint8Array(r.value as ArrayBufferLike);
          channel.next(chunk);
          sent += chunk.length;
          subscriber.next(sent);
        }
        done = true;
        if (config.complete !== false) channel.complete();
        await room(1);
        const failed = channel.dispatcher.failed;
        if (failed && channel.pending > 0) throw failed;
        subscriber.complete();
      } catch (e) {
        if (!channel.isStopped) channel.error(e);
        subscriber.error(e);
      }
    })();
    return () => {
      stopped = true;
      stopProgress();
      const w = wake;
      wake = null;
      w?.();
      if (!done) void it.return?.();
    };
  });
}

/**
 * Turns a receiving end of bytes into a web `ReadableStream`: each chunk is
 * acknowledged only when the stream's reader has room for it, so a slow
 * reader (a file, an HTTP response) holds the sender back. Pass the end of a
 * pair made with `ack: 'manual'`. Cancelling the stream unsubscribes.
 *
 * ## Example
 * ```ts
 * const [stdout, stdoutEnd] = channelPair<Uint8Array>({ ack: 'manual' });
 * await toReadableStream(stdout).pipeTo(Writable.toWeb(process.stdout));
 * ```
 */
export function toReadableStream(deliveries: Observable<Delivery<Uint8Array>>): ReadableStream<Uint8Array> {
  let unsubscribe: (() => void) | null = null;
  const owed: Array<Delivery<Uint8Array>> = [];
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const sub = deliveries.subscribe({
          next: (d) => {
            controller.enqueue(d.value);
            if ((controller.desiredSize ?? 0) > 0) d.ack();
            else owed.push(d);
          },
          error: (e) => controller.error(e),
          complete: () => controller.close(),
        });
        unsubscribe = () => sub.unsubscribe();
      },
      pull(controller) {
        while (owed.length > 0 && (controller.desiredSize ?? 0) > 0) owed.shift()!.ack();
      },
      cancel() {
        unsubscribe?.();
      },
    },
    { highWaterMark: 4 },
  );
}

function iterate(source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncIterator<Uint8Array> {
  if (Symbol.asyncIterator in source) return (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  // Browsers without async iteration of ReadableStream: read it by hand.
  const reader = (source as ReadableStream<Uint8Array>).getReader();
  return {
    next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
    return: async () => {
      await reader.cancel();
      return { done: true, value: undefined };
    },
  };
}
