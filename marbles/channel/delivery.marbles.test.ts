import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { take } from 'rxjs';
import { exportChannel, importChannel } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

// Every diagram: one character = 1 virtual ms. The handshake (HELLO + OPEN)
// leaves the importer at frame 0 and reaches the exporter `latency` later.
describe('delivery', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('delivers each value `latency` after it was sent, in order', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('    -----a--b-c---').subscribe((v) => jobs.next(v));
      const expected = '-------a--b-c-';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv')).toBe(expected);
    });
  });

  it('delivers a synchronous burst in one frame', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 3 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('    ----(abc)------').subscribe((v) => jobs.next(v));
      const expected = '-------(abc)---';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv')).toBe(expected);
    });
  });

  it('holds values sent before any importer binds and hands them over when OPEN arrives', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      jobs.next('a');
      jobs.next('b');
      // OPEN leaves at 5, reaches the exporter at 7; the queued values are back at 9.
      const sub = '    -----^-----';
      const expected = '---------(ab)';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv'), sub).toBe(expected);
    });
  });

  it('shows each direction with its own latency', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      // exporter -> importer takes 1 ms, importer -> exporter 4 ms.
      const { exporter, importer } = virtualNetwork({ latency: [1, 4] });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      // OPEN reaches the exporter at 4, so 'a' waits until then.
      hot('    --a---b--').subscribe((v) => jobs.next(v));
      const expected = '-----a-b-';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv')).toBe(expected);
    });
  });

  it('carries any MessagePack value', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 1 });
      const ch = exportChannel<unknown>(exporter, 'v', 'send');
      const values = { a: { n: 1, s: 'x', list: [1, 2] }, b: new Uint8Array([1, 2, 3]), c: new Date(5) };
      hot('    --a-b-c-', values).subscribe((v) => ch.next(v));
      const expected = '---a-b-c';
      expectObservable(importChannel(importer, 'v', 'recv')).toBe(expected, values);
    });
  });

  it('unsubscribing unbinds: later values wait for the next receiver', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('    -----a------b-----').subscribe((v) => jobs.next(v));
      // The first import leaves at 8: its CANCEL reaches the exporter at 10, so 'b' (sent at 12) is held
      // for the second import, whose OPEN (sent at 14) arrives at 16; 'b' lands at 18.
      const sub1 = '   ^-------!         ';
      const expected1 = '-------a--         ';
      const sub2 = '   --------------^---';
      const expected2 = '------------------b';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv'), sub1).toBe(expected1);
      expectObservable(importChannel<string>(importer, 'jobs', 'recv'), sub2).toBe(expected2);
    });
  });

  it('a reentrant unsubscribe (take) keeps what it took and returns the rest to the queue', () => {
    testScheduler.run(({ hot, expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      const jobs = exportChannel<string>(exporter, 'jobs', 'send');
      hot('    ----(abc)--------').subscribe((v) => jobs.next(v));
      // take(2) unsubscribes inside next(b): ACK 2 and CANCEL reach the exporter at 8, c is requeued;
      // the next import (OPEN sent at 9, arriving at 11) gets c at 13
      const first = '  ------(ab|)      ';
      const sub2 = '   ---------^-------';
      const second = ' -------------c---';
      expectObservable(importChannel<string>(importer, 'jobs', 'recv').pipe(take(2))).toBe(first);
      expectObservable(importChannel<string>(importer, 'jobs', 'recv'), sub2).toBe(second);
      expectObservable(exporter.drain(), '--------------^').toBe('---------------|');
    });
  });
});
