import type { Observable } from 'rxjs';
import type { Delivery } from '../channel/Delivery.js';
import { ExportedRecvChannel, type ExportRecvConfig } from '../channel/ExportedRecvChannel.js';
import { SendChannel, type SendQueueConfig } from '../channel/SendChannel.js';
import type { StandardSchemaV1 } from '../channel/StandardSchema.js';
import type { Exporter } from './Exporter.js';

/**
 * Exports a channel under `name` (Go's `Exporter.Export`).
 *
 * `'send'`: returns a {@link SendChannel} (a `Subject<T>`). `next(v)` hands `v` to
 * exactly ONE bound importer subscription, round-robin among those with window
 * left (work-queue semantics); values wait in a bounded queue while no receiver
 * can take them. `complete()` ends every import after what was sent before it.
 *
 * `'recv'`: returns a hot `Observable<T>` of the values importers send into the
 * channel. It completes when every importer sending into it has completed (or on
 * `exporter.hangup(name)`; see `keepOpen`).
 *
 * ```
 * exporter  next:  --a--b--c--|
 * import 1 (recv): ----a-----c--|     each value to exactly one receiver
 * import 2 (recv): -------b-----|
 * ```
 *
 * ## Example
 * ```ts
 * const jobs = exportChannel<number>(exporter, 'jobs', 'send');
 * const results = exportChannel<number>(exporter, 'results', 'recv');
 * results.subscribe((r) => console.log('result', r));
 * jobs.next(1);
 * ```
 * @throws NetchanError `'EEXIST'` if `name` is already exported.
 */
export function exportChannel<T>(exporter: Exporter, name: string, dir: 'send', config?: SendQueueConfig): SendChannel<T>;
export function exportChannel<S extends StandardSchemaV1>(
  exporter: Exporter,
  name: string,
  dir: 'recv',
  config: ExportRecvConfig & { schema: S; ack: 'manual' },
): Observable<Delivery<StandardSchemaV1.InferOutput<S>>>;
export function exportChannel<S extends StandardSchemaV1>(exporter: Exporter, name: string, dir: 'recv', config: ExportRecvConfig & { schema: S }): Observable<StandardSchemaV1.InferOutput<S>>;
export function exportChannel<T>(exporter: Exporter, name: string, dir: 'recv', config: ExportRecvConfig & { ack: 'manual' }): Observable<Delivery<T>>;
export function exportChannel<T>(exporter: Exporter, name: string, dir: 'recv', config?: ExportRecvConfig): Observable<T>;
export function exportChannel<T>(
  exporter: Exporter,
  name: string,
  dir: 'send' | 'recv',
  config: SendQueueConfig & ExportRecvConfig = {},
): SendChannel<T> | Observable<T> | Observable<Delivery<T>> {
  const { progress, report, budget, refuse, hooks } = exporter.forChannels;
  if (dir === 'send') {
    const ch = new SendChannel<T>(name, exporter.codec, progress, config, `channel "${name}"`, () => null);
    exporter.register(name, ch as SendChannel<unknown>);
    return ch;
  }
  if (dir !== 'recv') throw new TypeError(`exportChannel: direction must be 'send' or 'recv', got ${String(dir)}`);
  const ch = new ExportedRecvChannel<T>(name, config, report, budget, refuse, hooks);
  exporter.register(name, ch as ExportedRecvChannel<unknown>);
  return ch;
}
