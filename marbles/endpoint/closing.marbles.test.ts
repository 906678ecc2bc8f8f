import { beforeEach, describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { drain, exportChannel, importChannel, NetchanError, type SendChannel } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// How channels end when their endpoint closes or their import is refused: every
// case settles (nothing waits for ever), and a value that would go nowhere is
// refused at next() rather than accepted and lost.
describe('closing and failed channels', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });
  const closed = new NetchanError('ECLOSED', 'exporter is closed');

  it('exporter.close(): drain on a send channel with values pending fails with ECLOSED; the channel errors; next() throws ECLOSED', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('-a').subscribe((v) => jobs.next(v)); // nobody imports it: it stays queued
      hot('----c').subscribe(() => void exporter.close());
      expectObservable(jobs.pipe(map(() => 'never')), '--^').toBe('----#', undefined, closed);
      expectObservable(exporter.drain(), '--^').toBe('----#', undefined, closed);
      let thrown: unknown;
      hot('------n').subscribe(() => {
        try {
          jobs.next('late');
        } catch (e) {
          thrown = e;
        }
      });
      testScheduler.flush();
      expect(thrown).toMatchObject({ code: 'ECLOSED' });
    });
  });

  it("exporter.close(): a send channel with nothing pending completes, and a 'recv' channel completes", () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const results = exportChannel<string>(exporter, 'results', 'recv');
      hot('----c').subscribe(() => void exporter.close());
      expectObservable(jobs).toBe('----|');
      expectObservable(results).toBe('----|');
    });
  });

  it("a 'send' import refused with ENOCHAN: next() throws it and drain fails with it, even with nothing pending", () => {
    testScheduler.run(({ expectObservable }) => {
      const { importer } = virtualNetwork({ latency: 2 });
      const results: SendChannel<string> = importChannel<string>(importer, 'resluts', 'send'); // a typo
      const refused = new NetchanError('ENOCHAN', 'no such channel: "resluts"');
      // OPEN lands at 2, the ERROR is back at 4
      expectObservable(results).toBe('----#', undefined, refused);
      expectObservable(importer.errors$).toBe('----e', { e: refused });
      let thrown: unknown;
      testScheduler.schedule(() => {
        try {
          results.next('lost?');
        } catch (e) {
          thrown = e;
        }
      }, 5);
      testScheduler.flush();
      expect(thrown).toMatchObject({ code: 'ENOCHAN' });
    });
  });

  it("values sent before the refusal arrives stay pending: drain on the import fails with ENOCHAN, never completes", () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { importer } = virtualNetwork({ latency: 2 });
      const results = importChannel<string>(importer, 'resluts', 'send');
      hot('-ab').subscribe((v) => results.next(v));
      const refused = new NetchanError('ENOCHAN', 'no such channel: "resluts"');
      expectObservable(importer.drain(), '--^').toBe('----#', undefined, refused);
      expectObservable(results.pipe(drain(results)), '--^').toBe('----#', undefined, refused);
      testScheduler.schedule(() => expect(results.pending).toBe(2), 6);
    });
  });

  it('importer.close() during the handshake ends cleanly: no protocol error, imports complete', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      exportChannel<string>(exporter, 'jobs', 'send');
      hot('-c').subscribe(() => void importer.close()); // the exporter's HELLO is still on its way
      expectObservable(importChannel<string>(importer, 'jobs', 'recv')).toBe('---|');
      expectObservable(importer.errors$).toBe('---|');
      expectObservable(exporter.errors$).toBe('-'); // a clean goodbye is not an error on either side
    });
  });

  it('exporter.sync() waits for hung-up channels whose values are still in flight', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      importChannel<string>(importer, 'jobs', 'recv', { ack: 'manual' }).subscribe((d) => testScheduler.schedule(() => d.ack(), 4));
      hot('----a').subscribe((v) => jobs.next(v));
      hot('-----h').subscribe(() => exporter.hangup('jobs'));
      // a lands at 6, is acknowledged at 10, the ACK lands at 12
      expectObservable(exporter.sync(), '------^').toBe('------------|');
    });
  });

  it('a second close() returns the same Promise', () => {
    testScheduler.run(() => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      expect(exporter.close()).toBe(exporter.close());
      expect(importer.close()).toBe(importer.close());
    });
  });
});
