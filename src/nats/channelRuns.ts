import type { ChannelNames } from './channelNames.js';
import { purgeRecords, readRecords, writeRecord } from './controlRecords.js';
import { Liveness } from './Liveness.js';
import type { NatsEndpoint } from './NatsEndpoint.js';

/**
 * A *run* of a channel: from its first producer's `open` to the moment every
 * producer has finished (ended, errored, or gone with its connection). A
 * stream outlives runs (a channel exported again tomorrow), its records must
 * not: the first producer of a new run, or an exporter starting to receive a
 * channel, clears the records of the finished one (or of one abandoned by
 * producers that all went away without completing), so an old END or ERROR
 * does not end the new run and dead producers are not asked about forever.
 * Records written after the read (a producer opening at the same moment)
 * stay: the purge stops at the sequence read.
 */
export async function closeFinishedRun(ep: NatsEndpoint, names: ChannelNames): Promise<void> {
  const snap = await readRecords(ep.jsm, ep.config, names);
  if (snap.records.size === 0) return;
  const open = [...snap.records.values()].filter((r) => r.state === 'open');
  const found = await Promise.all(open.map((r) => Liveness.probe(ep.nc, r.live)));
  if (found.every((a) => a === 'gone')) await purgeRecords(ep.jsm, ep.config, names, snap.lastCtlSeq);
}

/** Records `producer` as sending into the channel (starting a new run if the last one is finished). */
export async function openProducer(ep: NatsEndpoint, names: ChannelNames, producer: string): Promise<void> {
  await closeFinishedRun(ep, names);
  await writeRecord(ep.nc, ep.config, names, producer, { state: 'open', live: ep.liveness.subject });
}
