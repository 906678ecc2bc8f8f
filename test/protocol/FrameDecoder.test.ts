import { describe, expect, it } from 'vitest';
import { decode, encode } from '@msgpack/msgpack';
import { FrameDecoder } from '../../src/protocol/FrameDecoder.js';
import { isNetchanError, type NetchanError } from '../../src/index.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** u32be length + MessagePack body. */
function frame(body: unknown[]): Uint8Array {
  const b = encode(body);
  const out = new Uint8Array(4 + b.length);
  new DataView(out.buffer).setUint32(0, b.length);
  out.set(b, 4);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Feeds `chunks` and returns the bodies as hex (copied: views may be reused by the caller). */
function feed(dec: FrameDecoder, chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const c of chunks) dec.push(c, (b) => void out.push(toHex(b)));
  return out;
}

function caught(fn: () => void): NetchanError | undefined {
  try {
    fn();
  } catch (e) {
    return e as NetchanError;
  }
  return undefined;
}

/** Small deterministic PRNG (mulberry32), so a fuzz failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Fixtures, written out by hand from docs/PROTOCOL.md.
const DATA_HI = hex('00000006 93 02 01 a2 6869'); // [2, 1, "hi"]
const ACK_300 = hex('00000006 93 03 05 cd 012c'); // [3, 5, 300]
const HELLO_EMPTY = hex('00000004 93 00 01 80'); // [0, 1, {}]

describe('FrameDecoder', () => {
  const hello = frame([0, 1, { maxFrameBytes: 1024, keepalive: 0 }]);
  const stream = concat(DATA_HI, ACK_300, hello, frame([2, 70_000, 'x'.repeat(300)]));
  const expected = [
    '930201a26869',
    '930305cd012c',
    toHex(hello.subarray(4)),
    toHex(frame([2, 70_000, 'x'.repeat(300)]).subarray(4)),
  ];

  it('decodes the hand-written fixtures', () => {
    const dec = new FrameDecoder(1024);
    expect(feed(dec, [HELLO_EMPTY])).toEqual(['93000180']);
    expect(decode(hex('93000180'))).toEqual([0, 1, {}]);
    expect(feed(dec, [DATA_HI])).toEqual(['930201a26869']);
    expect(decode(hex('930201a26869'))).toEqual([2, 1, 'hi']);
    expect(feed(dec, [ACK_300])).toEqual(['930305cd012c']);
    expect(decode(hex('930305cd012c'))).toEqual([3, 5, 300]);
    expect(dec.buffered).toBe(0);
  });

  it('gives the same frames however the stream is split in two, at every byte offset', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const dec = new FrameDecoder(1024);
      expect(feed(dec, [stream.subarray(0, cut), stream.subarray(cut)]), `cut at ${cut}`).toEqual(expected);
      expect(dec.buffered).toBe(0);
    }
  });

  it('gives the same frames however the stream is split in three', () => {
    const small = concat(DATA_HI, ACK_300, DATA_HI);
    const want = ['930201a26869', '930305cd012c', '930201a26869'];
    for (let i = 0; i <= small.length; i++) {
      for (let j = i; j <= small.length; j++) {
        const dec = new FrameDecoder(1024);
        expect(feed(dec, [small.subarray(0, i), small.subarray(i, j), small.subarray(j)]), `cuts ${i},${j}`).toEqual(want);
      }
    }
  });

  it('gives the same frames fed one byte at a time', () => {
    const dec = new FrameDecoder(1024);
    const chunks = Array.from(stream, (b) => Uint8Array.of(b));
    expect(feed(dec, chunks)).toEqual(expected);
  });

  it('reports the bytes of an unfinished frame as buffered', () => {
    const dec = new FrameDecoder(1024);
    feed(dec, [DATA_HI.subarray(0, 2)]);
    expect(dec.buffered).toBe(2);
    feed(dec, [DATA_HI.subarray(2, 7)]);
    expect(dec.buffered).toBe(7);
    expect(feed(dec, [DATA_HI.subarray(7)])).toEqual(['930201a26869']);
    expect(dec.buffered).toBe(0);
  });

  it('hands out coalesced frames in order, as views into the chunk (no copy)', () => {
    const dec = new FrameDecoder(1024);
    const chunk = concat(...Array.from({ length: 50 }, (_, i) => frame([2, i, i * 2])));
    const bodies: Uint8Array[] = [];
    dec.push(chunk, (b) => void bodies.push(b));
    expect(bodies.map((b) => decode(b))).toEqual(Array.from({ length: 50 }, (_, i) => [2, i, i * 2]));
    for (const b of bodies) expect(b.buffer).toBe(chunk.buffer);
  });

  it('stops handing out frames when onFrame returns false', () => {
    const dec = new FrameDecoder(1024);
    let n = 0;
    dec.push(concat(DATA_HI, DATA_HI, DATA_HI), () => ++n < 2);
    expect(n).toBe(2);
  });

  it("rejects a frame over the limit with 'ETOOBIG' as soon as its length is known, before any body arrives", () => {
    const dec = new FrameDecoder(1000);
    const header = hex('000003e9'); // 1001
    // Header split across chunks: the check counts across fragments.
    feed(dec, [header.subarray(0, 2)]);
    const err = caught(() => feed(dec, [header.subarray(2)]));
    expect(err?.code).toBe('ETOOBIG');
    expect(err?.message).toContain('1001');
    expect(err?.message).toContain('1000');
    expect(dec.buffered).toBe(0);
    // A 4 GiB declared length must not be allocated either.
    expect(caught(() => feed(new FrameDecoder(1000), [hex('ffffffff')]))?.code).toBe('ETOOBIG');
  });

  it('accepts a frame of exactly the limit', () => {
    const dec = new FrameDecoder(8);
    const body = hex('9702010203040506');
    expect(feed(dec, [concat(hex('00000008'), body)])).toEqual([toHex(body)]);
  });

  it("rejects an empty frame with 'EPROTO'", () => {
    expect(caught(() => feed(new FrameDecoder(1024), [hex('00000000')]))?.code).toBe('EPROTO');
  });

  it('is usable again after reset(), whatever it held', () => {
    const dec = new FrameDecoder(1024);
    feed(dec, [DATA_HI.subarray(0, 5)]);
    dec.reset();
    expect(dec.buffered).toBe(0);
    expect(feed(dec, [ACK_300])).toEqual(['930305cd012c']);
  });

  it('fuzz: random bytes only ever produce NetchanError, and the decoder still works after reset()', () => {
    const next = rng(0x5eed);
    let errors = 0;
    const wrong: string[] = [];
    for (let round = 0; round < 3000; round++) {
      const dec = new FrameDecoder(256);
      const len = 4 + Math.floor(next() * 64);
      const junk = Uint8Array.from({ length: len }, () => Math.floor(next() * 256));
      // Bias some rounds toward small plausible lengths so bodies get decoded too.
      if (round % 3 === 0) junk.set([0, 0, 0, Math.floor(next() * 40)], 0);
      try {
        // Split at a random point, as the network would.
        const cut = Math.floor(next() * (len + 1));
        dec.push(junk.subarray(0, cut), () => {});
        dec.push(junk.subarray(cut), () => {});
      } catch (e) {
        errors++;
        if (!isNetchanError(e) || !['EPROTO', 'ETOOBIG'].includes(e.code)) wrong.push(`round ${round}: ${String(e)}`);
      }
      dec.reset();
      const after = feed(dec, [DATA_HI]);
      if (after.length !== 1 || after[0] !== '930201a26869') wrong.push(`round ${round}: decoder broken after reset: ${after.join()}`);
    }
    expect(wrong).toEqual([]);
    expect(errors).toBeGreaterThan(0);
  });
});

describe('FrameDecoder mid-frame detection', () => {
  it('counts a frame whose header arrived but none of its body as unfinished', () => {
    const dec = new FrameDecoder(1024);
    feed(dec, [hex('00000006')]);
    expect(dec.buffered).toBe(4);
  });
});

describe('FrameDecoder memory: grows with what arrives, not with what is declared (issue 8, finding 6)', () => {
  it('a 16 MiB length prefix alone reserves nothing; 200 of them still nothing', () => {
    const decoders = Array.from({ length: 200 }, () => new FrameDecoder(16 << 20));
    for (const d of decoders) feed(d, [hex('01000000')]);
    expect(decoders.reduce((n, d) => n + d.reserved, 0)).toBe(0);
    expect(decoders[0]!.buffered).toBe(4);
  });

  it('reserves at most max(16 KiB, twice what arrived), never more than the declared length', () => {
    const length = 1 << 20;
    const dec = new FrameDecoder(16 << 20);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, length);
    feed(dec, [header]);
    let arrived = 0;
    const piece = new Uint8Array(1000).fill(7);
    const got: Uint8Array[] = [];
    while (arrived < length) {
      const n = Math.min(piece.length, length - arrived);
      dec.push(piece.subarray(0, n), (b) => void got.push(b));
      arrived += n;
      if (got.length === 0) {
        expect(dec.reserved).toBeLessThanOrEqual(Math.max(16 * 1024, 2 * arrived));
        expect(dec.buffered).toBe(4 + arrived);
      }
    }
    expect(got).toHaveLength(1);
    expect(dec.reserved).toBe(0);
    // The delivered body owns a buffer of exactly its size.
    expect(got[0]!.byteLength).toBe(length);
    expect(got[0]!.buffer.byteLength).toBe(length);
    expect(got[0]!.every((b) => b === 7)).toBe(true);
  });

  it('a small frame split in two reserves only its own length', () => {
    const dec = new FrameDecoder(1024);
    feed(dec, [DATA_HI.subarray(0, 6)]);
    expect(dec.reserved).toBe(6);
  });

  it('a reassembled frame shares no memory with later input; a whole one is a view of its chunk', () => {
    const dec = new FrameDecoder(1024);
    const stream = concat(DATA_HI, ACK_300);
    const chunk1 = stream.slice(0, 5);
    const chunk2 = stream.slice(5);
    const bodies: Uint8Array[] = [];
    dec.push(chunk1, (b) => void bodies.push(b));
    dec.push(chunk2, (b) => void bodies.push(b));
    expect(bodies.map(toHex)).toEqual(['930201a26869', '930305cd012c']);
    expect(bodies[0]!.buffer).not.toBe(chunk2.buffer);
    expect(bodies[0]!.buffer.byteLength).toBe(6);
    expect(bodies[1]!.buffer).toBe(chunk2.buffer);
    chunk1.fill(0);
    chunk2.fill(0);
    expect(toHex(bodies[0]!)).toBe('930201a26869');
  });
});

describe('FrameDecoder.setMaxFrameBytes', () => {
  it('a small cap (before the handshake) refuses a large frame at its header; raised, the same frame passes', () => {
    const big = frame([2, 1, 'x'.repeat(100)]);
    const dec = new FrameDecoder(1 << 20);
    dec.setMaxFrameBytes(64);
    expect(dec.maxBytes).toBe(64);
    const err = caught(() => feed(dec, [big.subarray(0, 4)]));
    expect(err?.code).toBe('ETOOBIG');
    expect(err?.message).toMatch(/frame of 105 bytes > maxFrameBytes \(64\)/);
    dec.reset();
    dec.setMaxFrameBytes(1 << 20);
    expect(feed(dec, [big])).toHaveLength(1);
  });
});

describe('FrameDecoder.pushMessage (message transports: WebSocket, virtualPipe)', () => {
  const msg = concat(DATA_HI, ACK_300, HELLO_EMPTY);

  function push(dec: FrameDecoder, m: Uint8Array): string[] {
    const out: string[] = [];
    dec.pushMessage(m, (b) => void out.push(toHex(b)));
    return out;
  }

  it('hands out every frame of a message of whole frames, as views', () => {
    const dec = new FrameDecoder(1024);
    const views: Uint8Array[] = [];
    dec.pushMessage(msg, (b) => void views.push(b));
    expect(views.map(toHex)).toEqual(['930201a26869', '930305cd012c', '93000180']);
    for (const v of views) expect(v.buffer).toBe(msg.buffer);
  });

  it("refuses a message that ends inside a frame, at every cut, with 'EPROTO', delivering nothing of it", () => {
    const boundaries = new Set([DATA_HI.length, DATA_HI.length + ACK_300.length]);
    for (let cut = 1; cut < msg.length; cut++) {
      const dec = new FrameDecoder(1024);
      const got: string[] = [];
      const err = caught(() => dec.pushMessage(msg.subarray(0, cut), (b) => void got.push(toHex(b))));
      if (boundaries.has(cut)) {
        expect(err, `cut ${cut}`).toBeUndefined();
      } else {
        expect(err?.code, `cut ${cut}`).toBe('EPROTO');
        expect(err?.message).toMatch(/a frame may not be split across messages/);
        expect(got).toEqual([]);
      }
    }
  });

  it("refuses a frame over the limit with 'ETOOBIG', an empty message or frame with 'EPROTO'", () => {
    expect(caught(() => push(new FrameDecoder(5), msg))?.code).toBe('ETOOBIG');
    expect(caught(() => push(new FrameDecoder(1024), new Uint8Array(0)))?.code).toBe('EPROTO');
    expect(caught(() => push(new FrameDecoder(1024), concat(DATA_HI, hex('00000000'))))?.code).toBe('EPROTO');
  });

  it('stops when onFrame returns false', () => {
    let n = 0;
    new FrameDecoder(1024).pushMessage(msg, () => ++n < 2);
    expect(n).toBe(2);
  });
});
