import { NetchanError } from '../errors/NetchanError.js';
import { LENGTH_BYTES } from './frame.js';
import { checkFrames, readFrameLength } from './framing.js';

/** Node's allocator of memory it does not zero (each byte of a reassembly buffer is written before it is read). */
const unsafeAlloc = (globalThis as { Buffer?: { allocUnsafeSlow(n: number): Uint8Array } }).Buffer?.allocUnsafeSlow;

/**
 * A plain Uint8Array of `n` bytes over a buffer of its own (never a shared pool):
 * on Node, not zeroed first, since it is about to be overwritten; elsewhere zeroed.
 */
function uninitialized(n: number): Uint8Array {
  if (unsafeAlloc === undefined || n < 4096) return new Uint8Array(n);
  const b = unsafeAlloc(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** First reassembly buffer, unless the frame is smaller: what a peer gets for 1 byte of body. */
const MIN_REASSEMBLY = 16 * 1024;

/**
 * Splits a byte stream into frame bodies. Handles frames split across chunks
 * and many frames in one chunk; checks each declared length against
 * `maxFrameBytes` before buffering any of the body.
 *
 * Memory follows the bytes that arrived, not the lengths declared: a frame
 * split across chunks is reassembled in a buffer that grows as its body comes
 * in (at most twice what arrived, and never past the declared length), as ws's
 * receiver does. A length prefix alone costs nothing.
 *
 * Whole frames inside a chunk are handed out as views (no copy); a reassembled
 * frame owns its buffer, exactly its length, shared with nothing else (on Node
 * it is not zeroed first: every byte of it is written before it is handed out).
 */
export class FrameDecoder {
  private readonly header = new Uint8Array(LENGTH_BYTES);
  private headerFilled = 0;
  /** Declared body length of the frame being reassembled (0: none). */
  private bodyLength = 0;
  private body: Uint8Array | null = null;
  private bodyFilled = 0;

  /** @param maxFrameBytes Largest frame body accepted; see {@link setMaxFrameBytes}. */
  constructor(private maxFrameBytes: number) {}

  /** The current frame limit. */
  get maxBytes(): number {
    return this.maxFrameBytes;
  }

  /**
   * Changes the frame limit for frames whose length has not been read yet. The
   * engine keeps it small until the handshake is done, then raises it.
   */
  setMaxFrameBytes(n: number): void {
    this.maxFrameBytes = n;
  }

  /** Bytes of an unfinished frame held back, waiting for more input. */
  get buffered(): number {
    // Count the length prefix of a frame whose body has begun: a stream that ends
    // right after a header is still mid-frame (buffered must not read 0 there).
    return this.bodyLength > 0 ? LENGTH_BYTES + this.bodyFilled : this.headerFilled;
  }

  /** Bytes of memory held for the unfinished frame (its reassembly buffer). */
  get reserved(): number {
    return (this.body?.length ?? 0) + this.headerFilled;
  }

  /**
   * Feeds one chunk of a byte stream. Calls `onFrame` for every whole frame, in
   * order. Stops early when `onFrame` returns `false` (the connection was closed
   * meanwhile).
   * @throws NetchanError `'ETOOBIG'` for a frame over the limit, `'EPROTO'` for a zero-length one.
   */
  push(chunk: Uint8Array, onFrame: (body: Uint8Array) => boolean | void): void {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.bodyLength > 0) {
        // Finishing a frame that began in an earlier chunk.
        const take = Math.min(this.bodyLength - this.bodyFilled, end - pos);
        this.append(chunk, pos, take);
        pos += take;
        if (this.bodyFilled < this.bodyLength) return;
        const body = this.body!;
        this.body = null;
        this.bodyLength = 0;
        this.bodyFilled = 0;
        if (onFrame(body) === false) return;
        continue;
      }
      let length: number;
      if (this.headerFilled === 0 && end - pos >= LENGTH_BYTES) {
        length = readFrameLength(chunk, pos);
        pos += LENGTH_BYTES;
      } else {
        while (this.headerFilled < LENGTH_BYTES && pos < end) this.header[this.headerFilled++] = chunk[pos++]!;
        if (this.headerFilled < LENGTH_BYTES) return;
        length = readFrameLength(this.header, 0);
        this.headerFilled = 0;
      }
      this.check(length);
      if (end - pos >= length) {
        const body = chunk.subarray(pos, pos + length);
        pos += length;
        if (onFrame(body) === false) return;
      } else {
        this.bodyLength = length;
        this.bodyFilled = 0;
        if (pos < end) this.append(chunk, pos, end - pos);
        return;
      }
    }
  }

  /**
   * Feeds one message of a `'message'` transport (WebSocket, virtualPipe), which
   * must hold whole frames only. The whole message is checked before any frame
   * is handed out, so a bad message delivers nothing. Frames are views into it.
   * @throws NetchanError `'EPROTO'` when it ends inside a frame (a frame split
   * across messages), is empty or holds an empty frame; `'ETOOBIG'` for a frame
   * over the limit.
   */
  pushMessage(message: Uint8Array, onFrame: (body: Uint8Array) => boolean | void): void {
    // The whole message is checked for frame boundaries before any frame is handed out; each
    // frame's length against the limit as it comes (a HELLO inside the message raises the limit).
    const bad = checkFrames(message, Number.MAX_SAFE_INTEGER);
    if (bad) {
      this.reset();
      throw bad;
    }
    let pos = 0;
    while (pos < message.length) {
      const length = readFrameLength(message, pos);
      if (length > this.maxFrameBytes) throw new NetchanError('ETOOBIG', `frame of ${length} bytes > maxFrameBytes (${this.maxFrameBytes})`);
      pos += LENGTH_BYTES;
      const body = message.subarray(pos, pos + length);
      pos += length;
      if (onFrame(body) === false) return;
    }
  }

  /** Drops any partial frame (the connection is going away). */
  reset(): void {
    this.headerFilled = 0;
    this.body = null;
    this.bodyLength = 0;
    this.bodyFilled = 0;
  }

  /** Copies `n` bytes of the current frame's body, growing its buffer as they come. */
  private append(chunk: Uint8Array, from: number, n: number): void {
    const need = this.bodyFilled + n;
    let body = this.body;
    if (body === null || need > body.length) {
      // Double (at least to what is needed), capped at the declared length: the
      // last growth lands on it exactly, so the delivered body owns a buffer of
      // its own size.
      const size = Math.min(this.bodyLength, Math.max(need, body === null ? MIN_REASSEMBLY : body.length * 2, 2 * n));
      const next = uninitialized(size);
      if (body !== null && this.bodyFilled > 0) next.set(body.subarray(0, this.bodyFilled));
      this.body = body = next;
    }
    body.set(chunk.subarray(from, from + n), this.bodyFilled);
    this.bodyFilled = need;
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
