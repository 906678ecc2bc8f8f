import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { DiscardPolicy, RetentionPolicy, StorageType, jetstream, type JetStreamManager } from '@nats-io/jetstream';
import { NetchanError } from '../errors/NetchanError.js';
import { controlStreamName, type ChannelNames } from './channelNames.js';
import type { ResolvedNatsConfig } from './NatsConfig.js';
import { JsCode, apiErrorCode, isTransient, toNetchanError } from './natsErrors.js';

/**
 * Completion and errors of a channel served through NATS. An END cannot travel
 * as a value (a work queue hands it to one receiver), so every producer of a
 * channel (an exporter's `'send'` channel, an importer's `'send'` import)
 * keeps one record in a small control stream, `<prefix>__ctl`, under
 * `<prefix>.ctl.<channel>.<producerId>` (one message per subject: the latest
 * state):
 *
 * ```
 * open                    the producer is sending (its connection answers on `live`)
 * end   { seq }           it completed; its last value is at stream sequence `seq`
 * error { code, message } it errored: every receiver of the channel errors
 * ```
 *
 * Receivers read them (see ChannelLife). A producer that opens on a channel
 * whose producers are all finished (ended, errored, or gone) first removes
 * their records: a new run of the channel begins.
 */
export type ProducerState = 'open' | 'end' | 'error';

/** One producer's latest record. */
export interface ProducerRecord {
  readonly producer: string;
  readonly state: ProducerState;
  /** Core NATS subject answered while the producer's connection lives (see Liveness). */
  readonly live: string;
  /** `'end'`: stream sequence of the producer's last stored value (0: none). */
  readonly seq: number;
  /** `'error'`: the channel's error. */
  readonly code?: string;
  readonly message?: string;
  /** Where the record sits in the control stream (0 when it came live, not from a snapshot). */
  readonly ctlSeq: number;
}

/** The records of one channel, and the control stream's sequence they were read at. */
export interface RecordSnapshot {
  readonly records: Map<string, ProducerRecord>;
  /** Highest control-stream sequence among them (what a new run purges through). */
  readonly lastCtlSeq: number;
}

const RANK: Record<ProducerState, number> = { open: 0, end: 1, error: 1 };

/** Records only move forward (open → end | error): a stale copy never replaces a newer state. */
export function mergeRecord(records: Map<string, ProducerRecord>, r: ProducerRecord): boolean {
  const old = records.get(r.producer);
  if (old !== undefined && RANK[old.state] >= RANK[r.state]) return false;
  records.set(r.producer, r);
  return true;
}

/** Reads a record's body; null for anything that is not one. */
export function parseRecord(producer: string, data: Uint8Array, ctlSeq: number): ProducerRecord | null {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof o !== 'object' || o === null || o['v'] !== 1 || typeof o['live'] !== 'string') return null;
  const state = o['state'];
  if (state !== 'open' && state !== 'end' && state !== 'error') return null;
  const seq = typeof o['seq'] === 'number' && Number.isSafeInteger(o['seq']) && o['seq'] >= 0 ? o['seq'] : 0;
  const r: ProducerRecord = { producer, state, live: o['live'], seq, ctlSeq };
  if (state !== 'error') return r;
  return {
    ...r,
    code: typeof o['code'] === 'string' ? o['code'] : 'EREMOTE',
    message: typeof o['message'] === 'string' ? o['message'] : 'the channel failed',
  };
}

/** Creates the control stream if missing (exporters do; importers only write to it). */
export async function ensureControlStream(jsm: JetStreamManager, config: ResolvedNatsConfig): Promise<void> {
  const name = controlStreamName(config.prefix);
  try {
    await jsm.streams.info(name);
    return;
  } catch (e) {
    if (apiErrorCode(e) !== JsCode.StreamNotFound) throw toNetchanError(e, `control stream ${name}`);
  }
  try {
    await jsm.streams.add({
      name,
      description: 'rx-netchan producer records',
      subjects: [`${config.prefix}.ctl.>`],
      retention: RetentionPolicy.Limits,
      storage: config.storage === 'memory' ? StorageType.Memory : StorageType.File,
      num_replicas: config.replicas,
      max_msgs_per_subject: 1,
      discard: DiscardPolicy.Old,
      duplicate_window: nanos(config.duplicateWindow),
    });
  } catch (e) {
    // Another exporter made it meanwhile.
    if (apiErrorCode(e) !== JsCode.StreamNameInUse) throw toNetchanError(e, `control stream ${name}`);
  }
}

/** Writes `producer`'s record (retrying while JetStream is briefly unavailable); stored once per state. */
export async function writeRecord(
  nc: NatsConnection,
  config: ResolvedNatsConfig,
  names: ChannelNames,
  producer: string,
  record: { state: ProducerState; live: string; seq?: number; code?: string; message?: string },
): Promise<void> {
  const js = jetstream(nc, { timeout: 2_000 });
  const body = JSON.stringify({ v: 1, ...record });
  const deadline = Date.now() + 15_000;
  for (let attempt = 0; ; attempt++) {
    try {
      await js.publish(`${names.control}.${producer}`, body, {
        msgID: `${producer}-${record.state}`,
        expect: { streamName: controlStreamName(config.prefix) },
        timeout: 2_000,
      });
      return;
    } catch (e) {
      if (!isTransient(e) || Date.now() >= deadline) {
        throw toNetchanError(e, `channel "${names.channel}": cannot record the producer's state (${record.state})`);
      }
      await new Promise((r) => setTimeout(r, Math.min(1_000, 50 * 2 ** attempt)));
    }
  }
}

/** The channel's records as stored now. */
export async function readRecords(jsm: JetStreamManager, config: ResolvedNatsConfig, names: ChannelNames): Promise<RecordSnapshot> {
  const stream = controlStreamName(config.prefix);
  const records = new Map<string, ProducerRecord>();
  let lastCtlSeq = 0;
  const info = await jsm.streams.info(stream, { subjects_filter: `${names.control}.*` });
  const subjects = Object.keys(info.state.subjects ?? {});
  const stored = await Promise.all(
    subjects.map((subject) =>
      jsm.streams.getMessage(stream, { last_by_subj: subject }).catch((e: unknown) => {
        // Purged between the listing and the read: nothing to read.
        if (apiErrorCode(e) === 10037) return null;
        throw e;
      }),
    ),
  );
  for (const m of stored) {
    if (m === null) continue;
    const producer = m.subject.slice(names.control.length + 1);
    const r = parseRecord(producer, m.data, m.seq);
    if (r === null) continue;
    mergeRecord(records, r);
    lastCtlSeq = Math.max(lastCtlSeq, m.seq);
  }
  return { records, lastCtlSeq };
}

/** Removes the channel's records up to control-stream sequence `through` (a finished run); later ones stay. */
export async function purgeRecords(jsm: JetStreamManager, config: ResolvedNatsConfig, names: ChannelNames, through: number): Promise<void> {
  if (through <= 0) return;
  try {
    await jsm.streams.purge(controlStreamName(config.prefix), { filter: `${names.control}.*`, seq: through + 1 });
  } catch (e) {
    throw new NetchanError('EPROTO', `channel "${names.channel}": cannot clear the records of its last run: ${(e as Error).message}`, { cause: e });
  }
}
