import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { exportChannel, importChannel, NetchanError } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// Completion and errors cross the wire like values: one latency later, in order.
describe('completion and error propagation', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it("complete() on an exported 'send' channel completes the import after the values sent before it", () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      cold('     ----a-b|').subscribe(jobs);
      const expected = '------a-b|';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv')).toBe(expected);
    });
  });

  it('complete() waits for values still queued behind the window', () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      cold('     ----(abc|)').subscribe(jobs);
      const expected = '------a---b---(c|)';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv', { size: 1 })).toBe(expected);
    });
  });

  it("complete() before anyone imports: a later import gets the queued values, then completes", () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      cold('(ab|)').subscribe(jobs);
      expectObservable(importChannel<string>(importer, 'jobs', 'recv'), '---^').toBe('-------(ab|)');
    });
  });

  it("error() on an exported 'send' channel errors the import one latency later, keeping its code", () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      const boom = Object.assign(new Error('boom'), { code: 'EPROTO' });
      cold('     ----a-#', undefined, boom).subscribe(jobs);
      const expected = '------a-#';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv')).toBe(
        expected,
        undefined,
        new NetchanError('EPROTO', 'channel "jobs": boom'),
      );
    });
  });

  it("an error without a code arrives as 'EREMOTE'", () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 1 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      cold('--#', undefined, new Error('disk full')).subscribe(jobs);
      expectObservable(importChannel<string>(importer, 'jobs', 'recv')).toBe(
        '---#',
        undefined,
        new NetchanError('EREMOTE', 'channel "jobs": disk full'),
      );
    });
  });

  it("complete() on an imported 'send' channel completes the exporter's 'recv' channel one latency later", () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const results = exportChannel<string>(exporter, 'results', 'recv');
      cold('     -a--b|').subscribe(importChannel<string>(importer, 'results', 'send'));
      expectObservable(results).toBe('---a--b|');
    });
  });

  it("error() on an imported 'send' channel errors the exporter's 'recv' channel", () => {
    testScheduler.run(({ cold, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const results = exportChannel<string>(exporter, 'results', 'recv');
      cold('     -a--#', undefined, new Error('bad input')).subscribe(importChannel<string>(importer, 'results', 'send'));
      expectObservable(results).toBe('---a--#', undefined, new NetchanError('EREMOTE', 'channel "results": bad input'));
    });
  });

  it("importing an unknown name errors with 'ENOCHAN' one round trip later", () => {
    testScheduler.run(({ expectObservable }) => {
      const { importer } = virtualNetwork({ latency: 2 });
      expectObservable(importChannel<string>(importer, 'nope', 'recv')).toBe(
        '----#',
        undefined,
        new NetchanError('ENOCHAN', 'no such channel: "nope"'),
      );
    });
  });

  it("a direction mismatch errors with 'EDIR'", () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      exportChannel<string>(exporter, 'results', 'recv');
      expectObservable(importChannel<string>(importer, 'results', 'recv')).toBe(
        '----#',
        undefined,
        new NetchanError('EDIR', `wrong direction for channel "results": it is exported for 'recv', so import it with 'send'`),
      );
    });
  });

  it("a 'send' import of a 'send' channel errors with 'EDIR' on the Subject and on importer.errors$", () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      exportChannel<string>(exporter, 'jobs', 'send');
      const err = new NetchanError('EDIR', `wrong direction for channel "jobs": it is exported for 'send', so import it with 'recv'`);
      expectObservable(importer.errors$).toBe('----e', { e: err });
      expectObservable(importChannel<string>(importer, 'jobs', 'send')).toBe('----#', undefined, err);
    });
  });
});
