import { ExportedRecvChannel } from '../channel/ExportedRecvChannel.js';
import { SendChannel } from '../channel/SendChannel.js';
import type { Session } from '../session/Session.js';
import type { ChannelStats, ExporterMetrics } from './Metrics.js';
import { bindingStats } from './sessionMetrics.js';

/** Each exported channel's counters, with its live bindings' windows and values in flight summed over `sessions`. */
export function channelStats(names: ReadonlyMap<string, SendChannel<unknown> | ExportedRecvChannel<unknown>>, sessions: Iterable<Session>): ChannelStats[] {
  const byName = new Map<string, { window: number; inFlight: number }>();
  for (const session of sessions) {
    for (const b of bindingStats(session)) {
      const e = byName.get(b.channel) ?? { window: 0, inFlight: 0 };
      e.window += b.window;
      e.inFlight += b.inFlight;
      byName.set(b.channel, e);
    }
  }
  const out: ChannelStats[] = [];
  for (const [name, ch] of names) {
    const live = byName.get(name) ?? { window: 0, inFlight: 0 };
    const m = ch.meter;
    if (ch instanceof SendChannel) {
      const d = ch.dispatcher;
      out.push({
        name,
        dir: 'send',
        bindings: d.receivers,
        window: live.window,
        valuesIn: 0,
        bytesIn: 0,
        valuesOut: m.valuesOut,
        bytesOut: m.bytesOut,
        acked: m.acked,
        inFlight: d.pending - d.queued,
        queued: d.queued,
        dropped: d.dropped,
        errors: m.errors,
      });
    } else if (ch instanceof ExportedRecvChannel) {
      out.push({
        name,
        dir: 'recv',
        bindings: ch.inbounds.size,
        window: live.window,
        valuesIn: m.valuesIn,
        bytesIn: m.bytesIn,
        valuesOut: 0,
        bytesOut: 0,
        acked: m.delivered,
        inFlight: live.inFlight,
        queued: ch.heldCount,
        dropped: 0,
        errors: m.errors,
      });
    }
  }
  return out;
}

/** A snapshot for another process: no per-binding detail, at most `max` clients and channels (`truncated` counts the rest). */
export function forRemote(m: ExporterMetrics, max: number): ExporterMetrics {
  const clients = m.clients.slice(0, max).map((c) => ({ ...c, bindingStats: [] }));
  const channels = m.channels.slice(0, max);
  const cut = { clients: m.clients.length - clients.length, channels: m.channels.length - channels.length };
  return { ...m, clients, channels, ...(cut.clients + cut.channels > 0 ? { truncated: cut } : {}) };
}
