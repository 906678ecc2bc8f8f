import type { Dispatcher } from '../channel/Dispatcher.js';
import type { HeldBudget } from '../channel/ExportedRecvChannel.js';
import type { RecvLane, RecvSink } from '../channel/Lane.js';
import type { NetchanError } from '../errors/NetchanError.js';
import type { ValueCodec } from '../protocol/codec.js';
import type { Listener } from '../transport/registry.js';

/** One exported channel, as a channel-level backend serves it. */
export type ExportedChannelRef =
  /** An exported `'send'` channel: attach a send lane to its queue (`dispatcher.attach(lane)`). */
  | { readonly dir: 'send'; readonly name: string; readonly dispatcher: Dispatcher }
  /** An exported `'recv'` channel: deliver to `sink` on receive lanes, each added with `addLane`. */
  | { readonly dir: 'recv'; readonly name: string; readonly sink: RecvSink; addLane(lane: RecvLane): void };

/** What an exporter offers a channel-level backend it listens on. */
export interface ExportedChannels {
  readonly codec: ValueCodec;
  readonly budget: HeldBudget;
  /** The exporter process's random id. */
  readonly instance: string;
  /**
   * Calls `exported` for every channel exported now and each one exported
   * later, `hungUp` when one is hung up. Returns the function that stops it.
   */
  watch(listener: { exported(ref: ExportedChannelRef): void; hungUp(name: string): void }): () => void;
  /** A problem worth reporting on `exporter.errors$`. */
  report(err: NetchanError): void;
}

/** Serves an exporter's channels through a backend (`exporter.listen('nats://…')`). */
export type ExporterBackend = (url: URL, channels: ExportedChannels, config: Record<string, unknown>) => Promise<Listener>;
