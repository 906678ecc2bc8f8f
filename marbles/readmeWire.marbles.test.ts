// The example of the README section "Testing your code with marble diagrams"
// that draws the wire (`received$`), verbatim except for the import paths (the
// README imports 'rx-netchan' and 'rx-netchan/testing'; here the sources are
// imported directly). test/readme.test.ts keeps the two in step.
import { it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { exportChannel, importChannel } from '../src/index.js';
import { observableMatcher, virtualNetwork, type VirtualFrame } from '../src/testing.js';

it('draws the frames on the wire: handshake, two values, their acknowledgements', () => {
  const testScheduler = new TestScheduler(observableMatcher);

  testScheduler.run(({ hot, expectObservable }) => {
    const { exporter, importer, pipe } = virtualNetwork({ latency: 2 });
    const [atExporter, atImporter] = pipe(); // the exporter's end and the importer's end of the link
    const jobs = exportChannel<string>(exporter, 'jobs', 'send');
    hot('------a---b').subscribe((job) => jobs.next(job));
    importChannel<string>(importer, 'jobs', 'recv').subscribe();

    const kind = map((f: VirtualFrame) => f.type[0]); // H = HELLO, O = OPEN, D = DATA, A = ACK
    // The importer's HELLO and OPEN land at 2; each value's ACK is back 2L after it was sent.
    expectObservable(atExporter.received$.pipe(kind)).toBe('--(HO)----A---A');
    // The exporter's HELLO answers at 2 and lands at 4; a and b land 2 after they were sent.
    expectObservable(atImporter.received$.pipe(kind)).toBe('----H---D---D');
  });
});
