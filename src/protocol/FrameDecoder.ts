import { NetchanError } from '../errors/NetchanError.js';
import { LENGTH_BYTES } from './frame.js';

/**
 * Splits a byte stream into frame bodies. Handles frames split across chunks
 * and many frames in one chunk; checks each declared length against
 * `maxFrameBytes` before buffering any of the body. Whole frames inside a chunk
 * are handed out as views (no copy); only a frame split across chunks is copied.
 */
export class FrameDecoder {
  private readonly header = new Uint8Array(LENGTH_BYTES);
  private headerFilled = 0;
  private body: Uint8Array | null = null;
  private bodyFilled = 0;

  constructor(private maxFrameBytes: number) {}

  /** Changes the frame limit (raised once the handshake is done). */
  setMaxFrameBytes(n: number): void {
    this.maxFrameBytes = n;
  }

  /** Bytes of an unfinished frame held back, waiting for more input. */
  get buffered(): number {
    // Count the length prefix of a frame whose body has begun: a stream that ends
    // right after a header is still mid-frame (buffered must not read 0 there).
    return this.body !== null ? LENGTH_BYTES + this.bodyFilled : this.headerFilled;
  }

  /**
   * Feeds one chunk. Calls `onFrame` for every whole frame, in order. Stops early
   * when `onFrame` returns `false` (the connection was closed meanwhile).
   * @throws NetchanError `'ETOOBIG'` for a frame over the limit, `'EPROTO'` for a zero-length one.
   */
  push(chunk: Uint8Array, onFrame: (body: Uint8Array) => boolean | void): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.body !== null) {
        // Finishing a frame that began in an earlier chunk.
        const take = Math.min(this.body.length - this.bodyFilled, end - pos);
        this.body.set(chunk.subarray(pos, pos + take), this.bodyFilled);
        this.bodyFilled += take;
        pos += take;
        if (this.bodyFilled < this.body.length) return;
        const body = this.body;
        this.body = null;
        this.bodyFilled = 0;
        if (onFrame(body) === false) return;
        continue;
      }
      let length: number;
      if (this.headerFilled === 0 && end - pos >= LENGTH_BYTES) {
        length = ((chunk[pos]! << 24) | (chunk[pos + 1]! << 16) | (chunk[pos + 2]! << 8) | chunk[pos + 3]!) >>> 0;
        pos += LENGTH_BYTES;
      } else {
        while (this.headerFilled < LENGTH_BYTES && pos < end) this.header[this.headerFilled++] = chunk[pos++]!;
        if (this.headerFilled < LENGTH_BYTES) return;
        const h = this.header;
        length = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
        this.headerFilled = 0;
      }
      this.check(length);
      if (end - pos >= length) {
        const body = chunk.subarray(pos, pos + length);
        pos += length;
        if (onFrame(body) === false) return;
      } else {
        this.body = new Uint8Array(length);
        this.bodyFilled = 0;
        this.body.set(chunk.subarray(pos, end), 0);
        this.bodyFilled = end - pos;
        return;
      }
    }
  }

  /** Drops any partial frame (the connection is going away). */
  reset(): void {
    this.headerFilled = 0;
    this.body = null;
    this.bodyFilled = 0;
  }

  private check(length: number): void {
    if (length > this.maxFrameBytes) {
      this.reset();
      throw new NetchanError('ETOOBIG', `frame of ${length} bytes > maxFrameBytes (${this.maxFrameBytes})`);
    }
    if (length === 0) {
      this.reset();
      throw new NetchanError('EPROTO', 'empty frame');
    }
  }
}
