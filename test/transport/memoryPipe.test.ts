import { describe, expect, it } from 'vitest';
import { queueScheduler } from 'rxjs';
import { memoryPipe } from '../../src/index.js';

describe('memoryPipe', () => {
  it('is always writable: write() returns true, bufferedBytes is 0', () => {
    const [a, b] = memoryPipe({ scheduler: queueScheduler });
    const got: number[] = [];
    b.start({ onData: (c) => void got.push(c.length), onClose: () => {} });
    expect(a.write(new Uint8Array(5 << 20))).toBe(true);
    expect(a.bufferedBytes).toBe(0);
    expect(got).toEqual([5 << 20]);
  });

  it('destroy(error): both ends close at once, this one with the error; later writes are ignored', () => {
    const [a, b] = memoryPipe();
    const closes: Array<[string, string | undefined]> = [];
    const data: string[] = [];
    a.start({ onData: () => void data.push('a'), onClose: (e) => void closes.push(['a', e?.message]) });
    b.start({ onData: () => void data.push('b'), onClose: (e) => void closes.push(['b', e?.message]) });
    a.write(Uint8Array.of(1)); // in flight: lost
    a.destroy!(new Error('write timeout'));
    expect(closes).toEqual([
      ['b', 'memory connection reset by the peer'],
      ['a', 'write timeout'],
    ]);
    expect(a.write(Uint8Array.of(2))).toBe(true);
    return new Promise<void>((r) => setTimeout(r, 5)).then(() => expect(data).toEqual([]));
  });
});
