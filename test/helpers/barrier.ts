import { firstValueFrom } from 'rxjs';
import { exportChannel, importChannel, type Exporter, type Importer } from '../../src/index.js';
import { within } from './async.js';

let n = 0;

/**
 * Resolves once `exporter` has handled every frame `importer` wrote before the
 * call. A value sent now on a channel of its own arrives after them: one
 * connection keeps the order. So a test can say "the ACK (or END) has been
 * handled, and nothing came of it" without sleeping.
 */
export async function upstreamBarrier(exporter: Exporter, importer: Importer): Promise<void> {
  const name = `barrier-up-${++n}`;
  const arrived = firstValueFrom(exportChannel<number>(exporter, name, 'recv'));
  importChannel<number>(importer, name, 'send', { count: 1 }).next(0);
  await within(arrived, 5_000, 'the upstream barrier');
  exporter.hangup(name);
}

/**
 * Resolves once everything `exporter` wrote to `importer` before the call, or
 * in answer to frames the importer wrote before it, has arrived: the barrier
 * value goes out only when the exporter has handled the importer's OPEN for it.
 */
export async function downstreamBarrier(exporter: Exporter, importer: Importer): Promise<void> {
  const name = `barrier-down-${++n}`;
  exportChannel<number>(exporter, name, 'send').next(0);
  await within(firstValueFrom(importChannel<number>(importer, name, 'recv', { count: 1 })), 5_000, 'the downstream barrier');
  exporter.hangup(name);
}
