import type { Subscription as RxSubscription } from 'rxjs';
import type { RecvLane } from '../channel/Lane.js';
import { NetchanError } from '../errors/NetchanError.js';
import type { ExportedChannelRef, ExportedChannels } from '../endpoint/ExportedChannels.js';
import type { ChannelNames } from './channelNames.js';
import type { Answering } from './ChannelRegistry.js';
import { closeFinishedRun } from './channelRuns.js';
import type { NatsEndpoint } from './NatsEndpoint.js';
import { NatsRecvLane } from './NatsRecvLane.js';
import { NatsSendLane } from './NatsSendLane.js';
import { provisionChannel } from './provisionChannel.js';

/** Delay before a lost send lane (a publish surely not stored) is replaced: first, and most. */
const REATTACH_FIRST = 1_000;
const REATTACH_MAX = 30_000;

/**
 * One exported channel served through NATS by one exporter process:
 * provisions its stream and consumer, then attaches a publishing lane to a
 * `'send'` channel's queue (this process is one of the channel's producers)
 * or a pulling lane to a `'recv'` channel (this process shares the incoming
 * values with the other exporters of the name), then answers the registry.
 * Hangup stops answering; the lane ends as the channel does (a send
 * channel's END is recorded once its queue has gone out), and the stream
 * keeps what nobody has received.
 */
export class ExportedNatsChannel {
  /** Settles once the channel is served (or failed, reported). */
  readonly ready: Promise<void>;
  private readonly names: ChannelNames;
  private answering: Answering | null = null;
  private state: 'starting' | 'serving' | 'hungUp' | 'closed' = 'starting';
  private reattach: RxSubscription | null = null;
  private reattachDelay = REATTACH_FIRST;

  constructor(
    private readonly ep: NatsEndpoint,
    private readonly ref: ExportedChannelRef,
    private readonly exported: ExportedChannels,
  ) {
    this.names = ep.names(ref.name);
    // Answer at once, as a direct exporter knows its names at once ('not ready': an import
    // that comes before the channel is set up waits for it, rather than get ENOCHAN).
    this.answering = ep.registry.answer(this.names, ref.dir);
    this.ready = this.start();
  }

  /** Stops answering the registry: new importers get 'ENOCHAN'. */
  hangup(): void {
    if (this.state === 'closed') return;
    this.state = 'hungUp';
    this.answering?.stop();
    this.answering = null;
    this.reattach?.unsubscribe();
    this.reattach = null;
  }

  /** The exporter closed (its lanes close with the endpoint). */
  close(): void {
    this.hangup();
    this.state = 'closed';
  }

  private async start(): Promise<void> {
    const { ep, ref, names } = this;
    try {
      await provisionChannel(ep.nc, names, ref.dir, ep.config);
      if (ref.dir === 'send') {
        await this.attachSendLane([]);
      } else {
        // Exporting a channel to receive starts a new run of it if the last one finished.
        await closeFinishedRun(ep, names);
        const lane = new NatsRecvLane(
          { names, window: ep.config.window, count: -1, followLife: !keepsOpen(ref) },
          ref.sink,
          this.exported.codec,
        );
        ref.addLane(lane);
        await lane.open(ep);
      }
      this.answering?.ready();
      await ep.nc.flush();
      if (this.state === 'starting') this.state = 'serving';
    } catch (e) {
      this.failed(e instanceof NetchanError ? e : new NetchanError('EPROTO', `channel "${ref.name}": ${(e as Error).message}`, { cause: e }));
    }
  }

  /** This process becomes one of the channel's producers; resolves once its record is written. */
  private async attachSendLane(inherited: readonly number[]): Promise<void> {
    if (this.ref.dir !== 'send' || this.state === 'closed') return;
    const dispatcher = this.ref.dispatcher;
    const lane = new NatsSendLane({ names: this.names, window: this.ep.config.window, count: -1, inherited }, dispatcher, {
      fatal: (_lane, err) => {
        this.ep.report(err);
        dispatcher.error({ code: err.code, message: err.message }, err);
      },
      lost: (old, err) => {
        this.ep.report(err);
        this.scheduleReattach(old.unreceived());
      },
    });
    dispatcher.attach(lane);
    await lane.open(this.ep);
    if (lane.state !== 'gone') this.reattachDelay = REATTACH_FIRST;
  }

  /** A lane lost its values back to the queue (refused publishes): try again with a new producer, backing off. */
  private scheduleReattach(inherited: number[]): void {
    if (this.state === 'closed' || this.reattach !== null) return;
    const delay = this.reattachDelay;
    this.reattachDelay = Math.min(REATTACH_MAX, delay * 2);
    this.reattach = this.ep.scheduler.schedule(() => {
      this.reattach = null;
      void this.attachSendLane(inherited);
    }, delay);
  }

  /** Cannot serve the channel: say so on errors$, and fail it the way the channel fails. */
  private failed(err: NetchanError): void {
    this.answering?.stop();
    this.answering = null;
    this.ep.report(err);
    const ref = this.ref;
    if (ref.dir === 'send') {
      ref.dispatcher.stop('errored', err);
    } else {
      const lane: RecvLane = { ack: () => undefined, cancel: () => undefined };
      ref.addLane(lane);
      ref.sink.error(err, lane);
    }
  }
}

/** Whether an exported 'recv' channel stays open until hangup (its `keepOpen` option). */
function keepsOpen(ref: ExportedChannelRef): boolean {
  if (ref.dir !== 'recv') return false;
  const explicit = (ref as { keepOpen?: unknown }).keepOpen;
  if (typeof explicit === 'boolean') return explicit;
  // Until the ref carries it: ExportedRecvChannel keeps the option under this name.
  return (ref.sink as unknown as { keepOpen?: unknown }).keepOpen === true;
}
