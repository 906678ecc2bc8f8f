import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkFrames, cutMessages, frameTypeName, readFrameLength, splitFrames, writeFrameLength } from '../../src/protocol/framing.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** Whole frames with bodies of these lengths (body bytes: a fixarray marker, then filler). */
function frames(...bodies: number[]): Uint8Array {
  const out = new Uint8Array(bodies.reduce((n, b) => n + 4 + b, 0));
  let p = 0;
  for (const b of bodies) {
    writeFrameLength(out, p, b);
    out.fill(0x90, p + 4, p + 4 + b);
    p += 4 + b;
  }
  return out;
}

describe('framing', () => {
  it('reads and writes the u32 big-endian length prefix', () => {
    const b = new Uint8Array(6);
    writeFrameLength(b, 1, 0x01020304);
    expect(Array.from(b)).toEqual([0, 1, 2, 3, 4, 0]);
    expect(readFrameLength(b, 1)).toBe(0x01020304);
    writeFrameLength(b, 0, 0xffffffff);
    expect(readFrameLength(b, 0)).toBe(0xffffffff);
  });

  it('splitFrames: whole frames as views, an incomplete tail as one piece', () => {
    const all = frames(1, 3, 2);
    const parts = splitFrames(all);
    expect(parts.map((p) => p.length)).toEqual([5, 7, 6]);
    for (const p of parts) expect(p.buffer).toBe(all.buffer);
    expect(splitFrames(all.subarray(0, 10)).map((p) => p.length)).toEqual([5, 5]);
    expect(splitFrames(hex('0000'))).toHaveLength(1);
  });

  it('checkFrames: null for whole frames; the error and its code otherwise', () => {
    expect(checkFrames(frames(3, 10, 1), 100)).toBeNull();
    expect(checkFrames(frames(101), 100)?.code).toBe('ETOOBIG');
    expect(checkFrames(frames(101), 100)?.message).toBe('frame of 101 bytes > maxFrameBytes (100)');
    expect(checkFrames(new Uint8Array(0), 100)?.code).toBe('EPROTO');
    expect(checkFrames(frames(0), 100)?.message).toBe('empty frame');
    expect(checkFrames(frames(3).subarray(0, 6), 100)?.message).toMatch(/message of 6 bytes ends inside a frame of 3 bytes/);
    expect(checkFrames(frames(3, 1).subarray(0, 9), 100)?.message).toMatch(/ends inside a frame header at byte 7/);
  });

  it('cutMessages: cuts only at frame boundaries, each message at most maxBytes unless one frame is larger, nothing lost', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 5, max: 1000 }), (bodies, max) => {
        const batch = frames(...bodies);
        const messages = cutMessages(batch, max);
        expect(Buffer.concat(messages)).toEqual(Buffer.from(batch));
        for (const m of messages) {
          expect(checkFrames(m, 1 << 20)).toBeNull();
          if (m.length > max) expect(splitFrames(m)).toHaveLength(1);
          expect(m.buffer).toBe(batch.buffer);
        }
        // Greedy: two neighbours together would have been too big.
        for (let i = 1; i < messages.length; i++) expect(messages[i - 1]!.length + splitFrames(messages[i]!)[0]!.length).toBeGreaterThan(max);
      }),
      { numRuns: 300 },
    );
    const fits = frames(1, 2);
    expect(cutMessages(fits, 100)).toEqual([fits]);
  });

  it('frameTypeName reads the type of a whole frame', () => {
    expect(frameTypeName(hex('00000004 93 00 01 80'))).toBe('HELLO');
    expect(frameTypeName(hex('00000003 92 02 01'))).toBe('DATA');
    expect(frameTypeName(hex('00000001 91'))).toBe('?');
    expect(frameTypeName(hex('00000002 91 63'))).toBe('?');
  });
});
