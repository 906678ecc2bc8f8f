import { describe, expect, it } from 'vitest';
import { decode } from '@msgpack/msgpack';
import { asapScheduler } from 'rxjs';
import { FrameDecoder } from '../../src/protocol/FrameDecoder.js';
import { FrameWriter } from '../../src/link/FrameWriter.js';
import { ValueCodec } from '../../src/protocol/codec.js';
import { FrameType } from '../../src/protocol/frame.js';
import type { Connection } from '../../src/index.js';

/** A Connection that records what is written. */
function sink(): Connection & { chunks: Uint8Array[] } {
  const chunks: Uint8Array[] = [];
  return { chunks, remote: 'test://', keepalive: false, start() {}, write: (c) => void chunks.push(c), close() {} };
}

function frames(chunks: Uint8Array[]): unknown[] {
  const dec = new FrameDecoder(1 << 24);
  const out: unknown[] = [];
  for (const c of chunks) dec.push(c, (b) => void out.push(decode(b)));
  return out;
}

// Every MessagePack unsigned width the hand-written DATA/ACK header code chooses between.
const UINTS = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 4_294_967_295, 4_294_967_296, Number.MAX_SAFE_INTEGER];

describe('FrameWriter', () => {
  it('writes DATA and ACK headers that decode as ordinary MessagePack arrays, for every uint width', () => {
    const conn = sink();
    const codec = new ValueCodec(1 << 20);
    const w = new FrameWriter(conn, codec, asapScheduler);
    for (const n of UINTS) {
      w.data(n, codec.encode({ n }, 'c'));
      w.ack(n, n);
    }
    w.flush();
    const want = UINTS.flatMap((n) => [
      [FrameType.Data, n, { n }],
      [FrameType.Ack, n, n],
    ]);
    expect(frames(conn.chunks)).toEqual(want);
  });

  it('batches every frame of a tick into one write', async () => {
    const conn = sink();
    const codec = new ValueCodec(1 << 20);
    const w = new FrameWriter(conn, codec, asapScheduler);
    for (let i = 0; i < 100; i++) w.data(1, codec.encode(i, 'c'));
    w.control([FrameType.Ping]);
    expect(conn.chunks.length).toBe(0);
    await new Promise((r) => setTimeout(r, 0));
    expect(conn.chunks.length).toBe(1);
    expect(frames(conn.chunks).length).toBe(101);
  });

  it('grows past its initial buffer for a large value', () => {
    const conn = sink();
    const codec = new ValueCodec(1 << 22);
    const w = new FrameWriter(conn, codec, asapScheduler);
    const big = new Uint8Array(1 << 21).fill(7);
    w.data(3, codec.encode(big, 'c'));
    w.ack(3, 1);
    w.flush();
    const [d, a] = frames(conn.chunks) as [[number, number, Uint8Array], unknown];
    expect(d[0]).toBe(FrameType.Data);
    expect(d[2].length).toBe(big.length);
    expect(Buffer.compare(d[2], big)).toBe(0);
    expect(a).toEqual([FrameType.Ack, 3, 1]);
  });

  it('writes nothing after dispose()', async () => {
    const conn = sink();
    const w = new FrameWriter(conn, new ValueCodec(1024), asapScheduler);
    w.control([FrameType.Ping]);
    w.dispose();
    w.control([FrameType.Pong]);
    w.flush();
    await new Promise((r) => setTimeout(r, 0));
    expect(conn.chunks.length).toBe(0);
  });
});

describe('ValueCodec', () => {
  it("rejects a value over the frame limit with 'ETOOBIG', giving both sizes", () => {
    const codec = new ValueCodec(100);
    expect(() => codec.encode('x'.repeat(200), 'chan')).toThrow(expect.objectContaining({ code: 'ETOOBIG' }));
    expect(() => codec.encode('x'.repeat(200), 'chan')).toThrow(/"chan".*> maxFrameBytes \(100\)/);
  });

  it("turns malformed input into 'EPROTO', never another error", () => {
    const codec = new ValueCodec(1024);
    for (const bad of [[0xc1], [0x92, 0x01], [0xdb, 0xff, 0xff, 0xff, 0xff], [0xc7]]) {
      expect(() => codec.decode(Uint8Array.from(bad), 'chan')).toThrow(expect.objectContaining({ name: 'NetchanError', code: 'EPROTO' }));
      expect(() => codec.decodeControl(Uint8Array.from(bad))).toThrow(expect.objectContaining({ code: 'EPROTO' }));
    }
  });

  it('passes the frame budget to the decoder: a declared string longer than the limit is refused without allocating it', () => {
    const codec = new ValueCodec(16);
    // str32 declaring 1,000,000 bytes.
    expect(() => codec.decode(Uint8Array.from([0xdb, 0x00, 0x0f, 0x42, 0x40]), 'chan')).toThrow(expect.objectContaining({ code: 'EPROTO' }));
  });
});
