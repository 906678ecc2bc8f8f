import { Observable } from 'rxjs';
import type { Delivery } from '../channel/Delivery.js';
import type { SendChannel } from '../channel/SendChannel.js';
import type { StandardSchemaV1 } from '../channel/StandardSchema.js';
import type { ImportRecvConfig, ImportSendConfig, Importer } from './Importer.js';

/**
 * Imports the exporter's channel `name` (Go's `Importer.ImportNValues`).
 *
 * `'recv'`: a cold `Observable<T>`: each subscription binds one import with its
 * own window (`size`) and optional `count`; unsubscribing unbinds it, and values
 * it had not acknowledged go back to the exporter's queue for other receivers.
 * It errors with `'ENOCHAN'`/`'EDIR'` when the name is unknown or exported for
 * the same direction, and with `'ECLOSED'` when the connection drops.
 *
 * With `schema` (any Standard Schema: Zod, Valibot, ArkType…) each value is
 * validated first and the Observable's type is the schema's output; an invalid
 * value errors the subscription with `'EINVAL'` (see `ImportRecvConfig.schema`).
 *
 * `'send'`: a {@link SendChannel} (a `Subject<T>`) whose `next(v)` sends `v` to
 * the exporter's `'recv'` channel, at most `size` unacknowledged at a time.
 *
 * ```
 * exporter next: --a--b--c--|
 * import (recv): ----a--b--c--|      latency 2
 * ```
 *
 * ## Example
 * ```ts
 * importChannel<number>(importer, 'jobs', 'recv', { size: 16 })
 *   .subscribe((job) => console.log('job', job));
 * const results = importChannel<number>(importer, 'results', 'send');
 * results.next(42);
 * ```
 */
export function importChannel<S extends StandardSchemaV1>(
  importer: Importer,
  name: string,
  dir: 'recv',
  config: ImportRecvConfig & { schema: S; ack: 'manual' },
): Observable<Delivery<StandardSchemaV1.InferOutput<S>>>;
export function importChannel<S extends StandardSchemaV1>(importer: Importer, name: string, dir: 'recv', config: ImportRecvConfig & { schema: S }): Observable<StandardSchemaV1.InferOutput<S>>;
export function importChannel<T>(importer: Importer, name: string, dir: 'recv', config: ImportRecvConfig & { ack: 'manual' }): Observable<Delivery<T>>;
export function importChannel<T>(importer: Importer, name: string, dir: 'recv', config?: ImportRecvConfig): Observable<T>;
export function importChannel<T>(importer: Importer, name: string, dir: 'send', config?: ImportSendConfig): SendChannel<T>;
export function importChannel<T>(
  importer: Importer,
  name: string,
  dir: 'send' | 'recv',
  config: ImportRecvConfig & ImportSendConfig = {},
): Observable<T> | Observable<Delivery<T>> | SendChannel<T> {
  if (dir === 'send') return importer.openSend<T>(name, config);
  if (dir !== 'recv') throw new TypeError(`importChannel: direction must be 'send' or 'recv', got ${String(dir)}`);
  return new Observable<T>((subscriber) => importer.bindRecv(name, config, subscriber as never));
}
