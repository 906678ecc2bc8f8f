import type { Link } from '../link/Link.js';
import { Inbound } from '../session/Inbound.js';
import type { Session } from '../session/Session.js';
import type { BindingStats } from './Metrics.js';
import type { SessionStats } from './SessionStats.js';

/** The counters of a session over its current link (either may be missing). */
export function sessionStats(link: Link | null, session: Session | null, rtt: number | null = link?.rtt ?? null): SessionStats {
  const m = session?.meter;
  return {
    framesIn: link?.framesIn ?? 0,
    framesOut: link?.writer.framesOut ?? 0,
    bytesIn: link?.bytesIn ?? 0,
    bytesOut: link?.writer.bytesOut ?? 0,
    valuesIn: m?.valuesIn ?? 0,
    valuesOut: m?.valuesOut ?? 0,
    valueBytesIn: m?.bytesIn ?? 0,
    valueBytesOut: m?.bytesOut ?? 0,
    acked: m?.acked ?? 0,
    inFlight: session?.inFlight ?? 0,
    errors: m?.errors ?? 0,
    rtt,
  };
}

/** Each binding of `session`, from the engine's public counters. */
export function bindingStats(session: Session | null): BindingStats[] {
  if (session === null) return [];
  const out: BindingStats[] = [];
  for (const b of session.bindings.values()) {
    if (b instanceof Inbound) {
      out.push({ id: b.id, channel: b.channel, dir: 'recv', window: b.window, values: b.received, acked: b.acked, inFlight: b.received - b.acked });
    } else {
      out.push({ id: b.id, channel: b.channel, dir: 'send', window: b.window, values: b.sent, acked: b.acked, inFlight: b.sent - b.acked });
    }
  }
  return out;
}
