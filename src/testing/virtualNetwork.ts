import { Exporter, type ExporterConfig } from '../endpoint/Exporter.js';
import { Importer, type ImporterConfig } from '../endpoint/Importer.js';
import { virtualPipe, type VirtualConnection, type VirtualPipeConfig } from './virtualPipe.js';

/**
 * Options of {@link virtualNetwork}. The pipe options apply to every connection,
 * except `dropAt` and `dropOn`, which apply to the first one only (pass them to
 * `connect()` for another).
 */
export interface VirtualNetworkConfig extends VirtualPipeConfig {
  /** Options of the Exporter. Defaults to `{}`. */
  exporter?: ExporterConfig;
  /** Options of each Importer. Defaults to `{}`. */
  importer?: ImporterConfig;
}

/** An Exporter and Importers joined by {@link virtualPipe}s; see {@link virtualNetwork}. */
export interface VirtualNetwork {
  readonly exporter: Exporter;
  /** The first importer, connected when the network was made. */
  readonly importer: Importer;
  /**
   * Connects one more Importer over a new virtual pipe. `config` overrides the
   * network's pipe and importer options for this connection only.
   */
  connect(config?: VirtualNetworkConfig): Importer;
  /** The current pipe of `importer` (default: the first one): `[exporter's end, importer's end]`. A reconnecting importer gets a new pipe on each redial. */
  pipe(importer?: Importer): [VirtualConnection, VirtualConnection];
  /** Drops `importer`'s connection (default: the first one) now, as a reset would. */
  drop(importer?: Importer): void;
  /** Closes every importer and the exporter (their Promises are not awaited). */
  close(): void;
}

/**
 * One call for a marble test's whole network: a fresh Exporter, and an Importer
 * connected to it over a {@link virtualPipe}. Call it inside `TestScheduler.run()`
 * so the pipes and both endpoints run in virtual time.
 *
 * ```
 * latency 2:  exporter next   --a-------
 *             importer recv   ----a-----
 *             ack at exporter ------^---
 * ```
 *
 * ## Example
 * ```ts
 * testScheduler.run(({ hot, expectObservable }) => {
 *   const { exporter, importer } = virtualNetwork({ latency: 2 });
 *   const jobs = exportChannel<string>(exporter, 'jobs', 'send');
 *   hot('--a--b').subscribe((v) => jobs.next(v));
 *   expectObservable(importChannel(importer, 'jobs', 'recv')).toBe('----a--b');
 * });
 * ```
 * @param config Pipe options (`latency`, …) plus `exporter` and `importer` options.
 * @returns The exporter, the first importer, and controls to add, drop and close connections.
 * @see virtualPipe
 */
export function virtualNetwork(config: VirtualNetworkConfig = {}): VirtualNetwork {
  const { exporter: exporterConfig, importer: importerConfig, dropAt, dropOn, ...pipeConfig } = config;
  const exporter = new Exporter(exporterConfig);
  const pipes = new Map<Importer, [VirtualConnection, VirtualConnection]>();
  const connect = (extra: VirtualNetworkConfig = {}): Importer => {
    const { exporter: _ignored, importer: imp, dropAt: firstDropAt, dropOn: firstDropOn, ...pc } = extra;
    let dials = 0;
    let importer: Importer | undefined;
    // Every dial (the first, and each reconnection) makes a new pipe; dropAt/dropOn apply to the first only.
    const dial = () => {
      const first = dials++ === 0;
      const pipe = virtualPipe({ ...pipeConfig, ...pc, ...(first ? { dropAt: firstDropAt, dropOn: firstDropOn } : {}) });
      exporter.serveConnection(pipe[0]);
      if (importer) pipes.set(importer, pipe);
      else firstPipe = pipe;
      return pipe[1];
    };
    let firstPipe: [VirtualConnection, VirtualConnection] | undefined;
    importer = new Importer(dial, { ...importerConfig, ...imp });
    pipes.set(importer, firstPipe!);
    return importer;
  };
  const importer = connect({ dropAt, dropOn });
  const pipeOf = (imp: Importer = importer) => {
    const p = pipes.get(imp);
    if (!p) throw new TypeError('virtualNetwork: that importer is not on this network');
    return p;
  };
  return {
    exporter,
    importer,
    connect,
    pipe: pipeOf,
    drop: (imp) => pipeOf(imp)[1].drop(),
    close: () => {
      for (const imp of pipes.keys()) void imp.close();
      void exporter.close();
    },
  };
}
