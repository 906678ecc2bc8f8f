import { Readable } from 'node:stream';
import type { Observable, Subscription } from 'rxjs';
import type { Delivery } from '../channel/Delivery.js';

/**
 * Turns a receiving end of bytes into a Node `Readable`: each chunk is
 * acknowledged only when the stream wants more (its buffer is under
 * `highWaterMark`), so piping into a slow file or HTTP response holds the
 * sender back. Pass the end of a pair made with `ack: 'manual'`. Destroying
 * the stream unsubscribes (the sending end then sees `'ECLOSED'`).
 *
 * ## Example
 * ```ts
 * const [stdout, stdoutEnd] = channelPair<Uint8Array>({ ack: 'manual' });
 * jobs.next({ cmd: 'ls', stdout: stdoutEnd });
 * toReadable(stdout).pipe(process.stdout);
 * ```
 */
export function toReadable(deliveries: Observable<Delivery<Uint8Array>>, options: { highWaterMark?: number } = {}): Readable {
  const owed: Array<Delivery<Uint8Array>> = [];
  let sub: Subscription | null = null;
  let wanting = true;
  const stream = new Readable({
    highWaterMark: options.highWaterMark ?? 64 * 1024,
    read() {
      wanting = true;
      while (owed.length > 0 && wanting) {
        const d = owed.shift()!;
        d.ack();
      }
    },
    destroy(err, callback) {
      sub?.unsubscribe();
      sub = null;
      callback(err);
    },
  });
  sub = deliveries.subscribe({
    next: (d) => {
      wanting = stream.push(d.value);
      if (wanting) d.ack();
      else owed.push(d);
    },
    error: (e: unknown) => stream.destroy(e instanceof Error ? e : new Error(String(e))),
    complete: () => stream.push(null),
  });
  return stream;
}
