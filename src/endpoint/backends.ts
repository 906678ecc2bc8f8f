import type { ExporterBackend } from './ExportedChannels.js';
import type { ImporterBackend } from './ImporterConnection.js';

/**
 * Channel-level backends by URL scheme: where a channel's queue lives in a
 * broker (NATS JetStream) rather than in an exporter's memory, `listen()` and
 * `Importer.connect()` hand the channels to the backend instead of opening
 * connections that carry frames. `rx-netchan/nats` registers `nats:`.
 */
interface Backends {
  exporter: Map<string, ExporterBackend>;
  importer: Map<string, ImporterBackend>;
}

// On globalThis so the ESM and CJS builds, if both are loaded, share one registry.
const KEY = Symbol.for('rx-netchan.backends');
function backends(): Backends {
  const g = globalThis as unknown as Record<symbol, Backends | undefined>;
  return (g[KEY] ??= { exporter: new Map(), importer: new Map() });
}

/** Makes `scheme` (`'nats:'`) a channel-level backend for `exporter.listen()` and `Importer.connect()`. */
export function registerBackend(scheme: string, fns: { exporter?: ExporterBackend; importer?: ImporterBackend }): void {
  const s = scheme.endsWith(':') ? scheme : `${scheme}:`;
  if (fns.exporter) backends().exporter.set(s, fns.exporter);
  if (fns.importer) backends().importer.set(s, fns.importer);
}

export function exporterBackendFor(url: URL): ExporterBackend | undefined {
  return backends().exporter.get(url.protocol);
}

export function importerBackendFor(url: URL): ImporterBackend | undefined {
  return backends().importer.get(url.protocol);
}
