import { describe, expect, it } from 'vitest';
import { PayloadLog } from '../../src/session/PayloadLog.js';
import { BinPayload } from '../../src/protocol/codec.js';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);
const all = (log: PayloadLog) => {
  const out: number[][] = [];
  log.forEach((p) => out.push([p.length, p[0] ?? -1]));
  return out;
};

describe('PayloadLog', () => {
  it('keeps payloads in order, small ones copied, large ones and BinPayloads as the same objects', () => {
    const log = new PayloadLog();
    const small = bytes(10, 1);
    const large = bytes(5000, 2);
    const caller = new Uint8Array([9, 9, 9]);
    const bin = new BinPayload(caller.buffer, 0, 3);
    log.push(small);
    log.push(large);
    log.push(bin);
    log.push(bytes(20, 3));
    small.fill(7); // a copy was kept: later changes to the array do not show
    expect(log.length).toBe(4);
    expect(all(log)).toEqual([[10, 1], [5000, 2], [3, 9], [20, 3]]);
    const seen: Uint8Array[] = [];
    log.forEach((p) => seen.push(p));
    expect(seen[1]).toBe(large);
    expect(seen[2]).toBe(bin);
  });

  it('drops the oldest entries and says how many bytes they held', () => {
    const log = new PayloadLog();
    for (let i = 0; i < 5; i++) log.push(bytes(10 + i, i));
    log.push(bytes(2000, 9));
    expect(log.drop(2)).toBe(10 + 11);
    expect(all(log).map(([n]) => n)).toEqual([12, 13, 14, 2000]);
    expect(log.drop(4)).toBe(12 + 13 + 14 + 2000);
    expect(log.length).toBe(0);
  });

  it('reuses and grows its buffer as entries come and go, never mixing them up (100,000 pushes, a window of 3,000)', () => {
    const log = new PayloadLog();
    let next = 0;
    let oldest = 0;
    for (let i = 0; i < 100_000; i++) {
      const n = 1 + (i % 97);
      const p = bytes(n, next++ & 0xff);
      log.push(p);
      if (log.length > 3000) {
        log.drop(1);
        oldest++;
      }
    }
    let k = oldest;
    let ok = true;
    log.forEach((p) => {
      if (p.length !== 1 + (k % 97) || p[0] !== (k & 0xff)) ok = false;
      k++;
    });
    expect(ok).toBe(true);
    expect(k).toBe(100_000);
  });

  it('takeAll() hands every entry out as an array of its own, oldest first, and empties the log', () => {
    const log = new PayloadLog();
    log.push(bytes(3, 1));
    log.push(bytes(4, 2));
    const out = log.takeAll();
    expect(out.map((p) => [...p])).toEqual([[1, 1, 1], [2, 2, 2, 2]]);
    expect(out[0]!.buffer).not.toBe(out[1]!.buffer);
    expect(log.length).toBe(0);
    log.push(bytes(2, 5));
    expect(all(log)).toEqual([[2, 5]]);
  });
});
