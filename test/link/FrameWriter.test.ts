import { describe, expect, it } from 'vitest';
import { decode, encode } from '@msgpack/msgpack';
import { asapScheduler } from 'rxjs';
import { FrameDecoder } from '../../src/protocol/FrameDecoder.js';
import { FrameWriter } from '../../src/link/FrameWriter.js';
import { BinPayload, ValueCodec, encodedLength, payloadBytes } from '../../src/protocol/codec.js';
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

  it("writes a large Uint8Array value from the caller's own memory (no copy) on a stream, and in one exact-size message on a message transport", () => {
    const codec = new ValueCodec(1 << 22);
    const value = new Uint8Array(64 * 1024).fill(5);
    const stream = sink();
    const w = new FrameWriter(stream, codec, asapScheduler);
    w.data(1, codec.encode(value, 'c'));
    expect(stream.chunks.length).toBe(2); // the header (with the bin header), then the value itself
    expect(stream.chunks[1]!.buffer).toBe(value.buffer);
    expect(Object.getPrototypeOf(stream.chunks[1])).toBe(Uint8Array.prototype);
    expect(frames(stream.chunks)).toEqual([[FrameType.Data, 1, value]]);

    const messages = { ...sink(), framing: 'message' as const };
    const m = new FrameWriter(messages, codec, asapScheduler);
    m.ack(2, 1); // batched first, written before the value's own message
    m.data(1, codec.encode(value, 'c'));
    expect(messages.chunks.length).toBe(2);
    expect(messages.chunks[1]!.length).toBe(4 + 3 + 5 + value.length); // length prefix, [0x93, 2, id], bin32 header, value
    expect(messages.chunks[1]!.buffer.byteLength).toBe(messages.chunks[1]!.length);
    expect(frames(messages.chunks)).toEqual([[FrameType.Ack, 2, 1], [FrameType.Data, 1, value]]);
  });

  it('an acknowledgement-only batch waits for the end of the turn on a real transport, so values sent later in the turn carry it', async () => {
    const conn = { ...sink(), flush() {} };
    const codec = new ValueCodec(1024);
    const w = new FrameWriter(conn, codec, asapScheduler);
    expect(w.realTime).toBe(true);
    w.ack(1, 5);
    w.schedule();
    await Promise.resolve(); // the end-of-tick flush ran: acknowledgements only, held
    await Promise.resolve();
    expect(conn.chunks.length).toBe(0);
    w.data(3, codec.encode('x', 'c')); // a value later in the same turn
    await Promise.resolve();
    await Promise.resolve();
    expect(conn.chunks.length).toBe(1);
    expect(frames(conn.chunks)).toEqual([[FrameType.Ack, 1, 5], [FrameType.Data, 3, 'x']]);
    // Alone, they go at the end of the turn.
    w.ack(1, 6);
    w.schedule();
    await Promise.resolve();
    await Promise.resolve();
    expect(conn.chunks.length).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(frames(conn.chunks.slice(1))).toEqual([[FrameType.Ack, 1, 6]]);
    w.dispose();
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
  it('keeps a Uint8Array value as the caller\'s bytes (a BinPayload view, no copy); its encoding is MessagePack bin', () => {
    const codec = new ValueCodec(1 << 20);
    for (const n of [0, 3, 255, 256, 65_535, 65_536]) {
      const value = new Uint8Array(n).fill(1);
      const p = codec.encode(value, 'c');
      expect(p).toBeInstanceOf(BinPayload);
      expect(p.buffer).toBe(value.buffer);
      expect(encodedLength(p)).toBe(encode(value).length);
      expect(Buffer.from(payloadBytes(p)).equals(Buffer.from(encode(value)))).toBe(true);
      // Decoded where it never left the process (a local pair): a copy of its own.
      const back = codec.decode(p, 'c') as Uint8Array;
      expect(back).toEqual(value);
      expect(back.buffer).not.toBe(value.buffer);
    }
    expect(() => new ValueCodec(100).encode(new Uint8Array(100), 'c')).toThrow(/value encodes to 102 bytes \(109 with header\) > maxFrameBytes \(100\)/);
  });

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
