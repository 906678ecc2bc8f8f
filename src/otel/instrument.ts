import { metrics, type Attributes, type BatchObservableCallback, type Meter, type Observable } from '@opentelemetry/api';
import type { Exporter } from '../endpoint/Exporter.js';
import type { Importer } from '../endpoint/Importer.js';
import type { ChannelStats } from '../endpoint/Metrics.js';

/** Options of {@link instrument}. */
export interface InstrumentConfig {
  /** The Meter to record with. Defaults to `metrics.getMeter('rx-netchan')` (the global MeterProvider's). */
  meter?: Meter;
  /** Extra attributes on every data point (`service.instance.id`, say). Defaults to none. */
  attributes?: Attributes;
}

/** `messaging.system` for rx-netchan (the semantic conventions allow a custom value). */
const SYSTEM = 'rx-netchan';

/**
 * Records an Exporter's or an Importer's traffic as OpenTelemetry metrics,
 * following the messaging semantic conventions, with the channel's name as
 * `messaging.destination.name`:
 *
 * | instrument | kind | unit | what |
 * |---|---|---|---|
 * | `messaging.client.sent.messages` | counter | `{message}` | values written to receivers, per channel (`messaging.operation.name` `send`) |
 * | `messaging.client.consumed.messages` | counter | `{message}` | values delivered to subscribers here (`receive`) |
 * | `messaging.process.duration` | histogram | `s` | delivery to acknowledgement: the subscriber's `next()`, or until `ack()` with `ack: 'manual'` (`process`) |
 * | `rx_netchan.channel.in_flight` | gauge | `{message}` | sent or received and not acknowledged yet |
 * | `rx_netchan.channel.queued` | gauge | `{message}` | waiting in a send queue, or held for a subscriber |
 * | `rx_netchan.connection.rtt` | gauge | `s` | round-trip time per connection (`rx_netchan.client.id` on an exporter) |
 *
 * Counters and gauges are read from `metrics()` when the SDK collects (nothing
 * on the hot path); the histogram is recorded as values are processed.
 * Returns the function that stops recording.
 *
 * ## Example
 * ```ts
 * import { instrument } from 'rx-netchan/otel';
 * const stop = instrument(exporter); // the global MeterProvider, set up by your OpenTelemetry SDK
 * ```
 */
export function instrument(endpoint: Exporter | Importer, config: InstrumentConfig = {}): () => void {
  const meter = config.meter ?? metrics.getMeter('rx-netchan');
  const extra = config.attributes ?? {};
  const sent = meter.createObservableCounter('messaging.client.sent.messages', { unit: '{message}', description: 'Number of messages producer attempted to send to the broker.' });
  const consumed = meter.createObservableCounter('messaging.client.consumed.messages', { unit: '{message}', description: 'Number of messages that were delivered to the application.' });
  const inFlight = meter.createObservableGauge('rx_netchan.channel.in_flight', { unit: '{message}', description: 'Values sent or received and not acknowledged yet.' });
  const queued = meter.createObservableGauge('rx_netchan.channel.queued', { unit: '{message}', description: 'Values waiting in a send queue, or held for a subscriber.' });
  const rtt = meter.createObservableGauge('rx_netchan.connection.rtt', { unit: 's', description: 'Round-trip time of a connection, from PING/PONG.' });
  const processed = meter.createHistogram('messaging.process.duration', {
    unit: 's',
    description: 'Duration of processing operation.',
    advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10] },
  });
  const attrs = (ch: Pick<ChannelStats, 'name' | 'dir'>, op: string): Attributes => ({
    ...extra,
    'messaging.system': SYSTEM,
    'messaging.destination.name': ch.name,
    'messaging.operation.name': op,
    'messaging.operation.type': op === 'send' ? 'send' : op === 'process' ? 'process' : 'receive',
  });
  const observables: Observable[] = [sent, consumed, inFlight, queued, rtt];
  const collect: BatchObservableCallback = (result) => {
    const m = endpoint.metrics();
    for (const ch of m.channels) {
      const a = attrs(ch, ch.dir === 'send' ? 'send' : 'receive');
      if (ch.dir === 'send') result.observe(sent, ch.valuesOut, a);
      else result.observe(consumed, ch.acked, a);
      result.observe(inFlight, ch.inFlight, a);
      result.observe(queued, ch.queued, a);
    }
    if ('clients' in m) {
      for (const c of m.clients) if (c.rtt !== null) result.observe(rtt, c.rtt / 1000, { ...extra, 'messaging.system': SYSTEM, 'rx_netchan.client.id': c.id });
    } else if (m.connection.rtt !== null) {
      result.observe(rtt, m.connection.rtt / 1000, { ...extra, 'messaging.system': SYSTEM });
    }
  };
  meter.addBatchObservableCallback(collect, observables);
  const hook = (channel: string, ms: number): void => processed.record(ms / 1000, attrs({ name: channel, dir: 'recv' }, 'process'));
  endpoint.hooks.processed = hook;
  return () => {
    meter.removeBatchObservableCallback(collect, observables);
    if (endpoint.hooks.processed === hook) endpoint.hooks.processed = null;
  };
}
