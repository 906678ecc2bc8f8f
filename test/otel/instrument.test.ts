import { describe, expect, it } from 'vitest';
import type { Attributes, BatchObservableCallback, Meter, Observable } from '@opentelemetry/api';
import { exportChannel, importChannel } from '../../src/index.js';
import { instrument } from '../../src/otel.js';
import { completion, record, range } from '../helpers/async.js';
import { openPair } from '../helpers/transports.js';

/** A Meter that keeps what is recorded, and collects on demand (what an SDK's reader does). */
function testMeter() {
  const names = new Map<object, string>();
  const callbacks = new Set<BatchObservableCallback>();
  const histograms: Array<{ name: string; value: number; attributes: Attributes }> = [];
  const instrument = (name: string) => {
    const o = {};
    names.set(o, name);
    return o;
  };
  const meter = {
    createObservableCounter: instrument,
    createObservableGauge: instrument,
    createHistogram: (name: string) => ({ record: (value: number, attributes: Attributes = {}) => histograms.push({ name, value, attributes }) }),
    addBatchObservableCallback: (cb: BatchObservableCallback) => callbacks.add(cb),
    removeBatchObservableCallback: (cb: BatchObservableCallback) => callbacks.delete(cb),
  } as unknown as Meter;
  const collect = async () => {
    const points: Array<{ name: string; value: number; attributes: Attributes }> = [];
    for (const cb of callbacks) await cb({ observe: (o: Observable, value: number, attributes: Attributes = {}) => points.push({ name: names.get(o)!, value, attributes }) });
    return points;
  };
  return { meter, collect, histograms, callbacks };
}

describe('rx-netchan/otel', () => {
  it('records the messaging semantic-convention metrics, the channel as destination', async () => {
    const p = await openPair('tcp');
    const exp = testMeter();
    const imp = testMeter();
    const stopExporter = instrument(p.exporter, { meter: exp.meter, attributes: { 'service.name': 'jobs-server' } });
    const stopImporter = instrument(p.importer, { meter: imp.meter });
    try {
      const jobs = exportChannel<number>(p.exporter, 'jobs', 'send');
      const results = record(exportChannel<number>(p.exporter, 'results', 'recv'));
      const got = record(importChannel<number>(p.importer, 'jobs', 'recv'));
      const up = importChannel<number>(p.importer, 'results', 'send');
      for (const n of range(7)) jobs.next(n);
      for (const n of range(3)) up.next(n);
      await got.count(7);
      await results.count(3);
      await completion(p.exporter.drain(5_000));
      const points = await exp.collect();
      const find = (name: string, dest: string) => points.find((x) => x.name === name && x.attributes['messaging.destination.name'] === dest);
      expect(find('messaging.client.sent.messages', 'jobs')).toMatchObject({
        value: 7,
        attributes: { 'messaging.system': 'rx-netchan', 'messaging.operation.name': 'send', 'service.name': 'jobs-server' },
      });
      expect(find('messaging.client.consumed.messages', 'results')).toMatchObject({ value: 3, attributes: { 'messaging.operation.name': 'receive' } });
      expect(find('rx_netchan.channel.in_flight', 'jobs')!.value).toBe(0);
      expect((await imp.collect()).find((x) => x.name === 'messaging.client.consumed.messages')).toMatchObject({ value: 7, attributes: { 'messaging.destination.name': 'jobs' } });
      // One processing duration per value delivered, on each side.
      expect(exp.histograms.filter((h) => h.name === 'messaging.process.duration' && h.attributes['messaging.destination.name'] === 'results')).toHaveLength(3);
      expect(imp.histograms.filter((h) => h.name === 'messaging.process.duration')).toHaveLength(7);
      expect(imp.histograms[0]!.attributes['messaging.operation.name']).toBe('process');
      stopExporter();
      stopImporter();
      expect(exp.callbacks.size + imp.callbacks.size).toBe(0);
      jobs.next(8);
      await got.count(8);
      expect(imp.histograms).toHaveLength(7); // stopped
    } finally {
      stopExporter();
      stopImporter();
      await p.close();
    }
  });
});
