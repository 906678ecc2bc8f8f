import { beforeEach, describe, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { delay, of } from 'rxjs';
import { exportChannel, importChannel, request, respond, type Request } from '../../src/index.js';
import { virtualNetwork } from '../../src/testing.js';
import { observableMatcher } from '../../test/helpers/observableMatcher.js';

type Job = Request<{ n: number }, number>;

// Request/reply over channel ends, in virtual time (latency 2 each way). The
// reply end travels inside the request; the server binds it back on arrival
// (an OPEN that leaves with the server's first write), and the answer follows
// the same road back. No extra round trip: the reply is back 2L after the
// request left, plus the handler's time.
describe('request/reply timing', () => {
  let testScheduler: TestScheduler;
  beforeEach(() => {
    testScheduler = new TestScheduler(observableMatcher);
  });

  it('the reply is back 2L after the request was sent, plus the handler time', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      exportChannel<Job>(exporter, 'jobs', 'recv', { keepOpen: true })
        .pipe(respond(({ n }) => of(n * n).pipe(delay(3))))
        .subscribe();
      const jobs = importChannel<Job>(importer, 'jobs', 'send');
      // sent at 10: lands at 12, the handler takes 3 (15), the reply (with its OPEN) lands at 17
      expectObservable(request(jobs, { n: 7 }), '----------^').toBe('-----------------(a|)', { a: 49 });
    });
  });

  it('a streamed answer: each value 2L after the server sends it, completion with the last', () => {
    testScheduler.run(({ expectObservable }) => {
      const { exporter, importer } = virtualNetwork({ latency: 2 });
      exportChannel<Job>(exporter, 'jobs', 'recv', { keepOpen: true })
        .pipe(respond(({ n }) => of(n, n + 1, n + 2).pipe(delay(1))))
        .subscribe();
      const jobs = importChannel<Job>(importer, 'jobs', 'send');
      // sent at 4 (after the handshake pipelined at 0): lands at 6, answered at 7, back at 9
      expectObservable(request(jobs, { n: 1 }), '----^').toBe('---------(abc|)', { a: 1, b: 2, c: 3 });
    });
  });
});
