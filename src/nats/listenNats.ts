import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { NetchanError } from '../errors/NetchanError.js';
import type { ExportedChannels } from '../endpoint/ExportedChannels.js';
import type { Listener } from '../transport/registry.js';
import { connectNats } from './connectNats.js';
import { ensureControlStream } from './controlRecords.js';
import { ExportedNatsChannel } from './ExportedNatsChannel.js';
import { NatsEndpoint } from './NatsEndpoint.js';
import { natsOptions } from './natsOptions.js';
import { refuseChannelEnds } from './refuseChannelEnds.js';
import { watchStatus } from './watchStatus.js';

/**
 * `exporter.listen('nats://host:port')` (registered by `rx-netchan/nats`):
 * connects to NATS (reconnecting forever), then serves every channel the
 * exporter exports now or later (see {@link ExportedNatsChannel}); hangups
 * stop serving a name. Resolves once the channels exported so far are
 * served, so an importer that connects next finds them. The NATS options
 * come from the exporter's `transport` option ({@link NatsConfig}).
 *
 * @throws NetchanError `'ECLOSED'` (no server), `'EAUTH'` (refused credentials), `'EINVAL'` (options).
 */
export async function listenNats(url: URL, exported: ExportedChannels, config: Record<string, unknown>): Promise<Listener> {
  const { servers, config: nats, url: where } = natsOptions(url, config['transport']);
  const scheduler = (config['scheduler'] as SchedulerLike | undefined) ?? asyncScheduler;
  const nc = await connectNats(servers, nats);
  const ep = await NatsEndpoint.open(nc, nats, (e) => exported.report(e), scheduler);
  try {
    await ensureControlStream(ep.jsm, nats);
  } catch (e) {
    await ep.close();
    throw e;
  }
  refuseChannelEnds(exported.codec);
  const stopStatus = watchStatus(nc, (s) => {
    if (s.type === 'disconnect') exported.report(new NetchanError('ECLOSED', `lost the NATS connection to ${s.server}; reconnecting`));
  });
  const channels = new Map<string, ExportedNatsChannel>();
  const stopWatching = exported.watch({
    exported: (ref) => channels.set(ref.name, new ExportedNatsChannel(ep, ref, exported)),
    hungUp: (name) => {
      channels.get(name)?.hangup();
      channels.delete(name);
    },
  });
  await Promise.all([...channels.values()].map((c) => c.ready));
  let closing: Promise<void> | null = null;
  return {
    url: where,
    close: () =>
      (closing ??= (async () => {
        stopWatching();
        for (const c of channels.values()) c.close();
        channels.clear();
        stopStatus();
        await ep.close();
      })()),
  };
}
