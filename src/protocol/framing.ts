import { NetchanError } from '../errors/NetchanError.js';
import { FrameType, LENGTH_BYTES } from './frame.js';

/**
 * The one place that knows how frames sit in bytes: a u32 big-endian body length,
 * then the body (docs/PROTOCOL.md, "Framing"). The decoder, the WebSocket
 * transport, the writer and the virtual pipe all go through these functions.
 */

/**
 * Most bytes the protocol puts into one message on a `'message'` transport
 * (WebSocket), unless the message is a single frame. A receiver therefore never
 * needs to accept a message larger than `max(maxFrameBytes + 4, MAX_MESSAGE_BYTES)`.
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** The body length declared by the prefix at `at` (the caller checks that 4 bytes are there). */
export function readFrameLength(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** Writes a body length prefix at `at`. */
export function writeFrameLength(bytes: Uint8Array, at: number, length: number): void {
  bytes[at] = length >>> 24;
  bytes[at + 1] = (length >>> 16) & 0xff;
  bytes[at + 2] = (length >>> 8) & 0xff;
  bytes[at + 3] = length & 0xff;
}

/**
 * Splits whole frames (prefix included) out of `chunk`, as views. An incomplete
 * or malformed tail stays one piece, so nothing is lost: for tracing and for
 * test links, not for checking input (see {@link checkFrames}).
 */
export function splitFrames(chunk: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  while (p + LENGTH_BYTES <= chunk.length) {
    const end = p + LENGTH_BYTES + readFrameLength(chunk, p);
    if (end > chunk.length) break;
    out.push(chunk.subarray(p, end));
    p = end;
  }
  if (p < chunk.length) out.push(chunk.subarray(p));
  return out;
}

/**
 * Checks that `message` holds whole frames only, each of 1 to `maxFrameBytes`
 * body bytes, reading only the length prefixes. For `'message'` transports,
 * where a frame may never be split across messages.
 * @returns `null` when it does; otherwise the error: `'ETOOBIG'` for a frame
 * over the limit, `'EPROTO'` for an empty message, an empty frame, or a message
 * that ends inside a frame.
 */
export function checkFrames(message: Uint8Array, maxFrameBytes: number): NetchanError | null {
  const end = message.length;
  if (end === 0) return new NetchanError('EPROTO', 'empty message');
  let pos = 0;
  while (pos < end) {
    if (end - pos < LENGTH_BYTES) {
      return new NetchanError('EPROTO', `message of ${end} bytes ends inside a frame header at byte ${pos}: a frame may not be split across messages`);
    }
    const length = readFrameLength(message, pos);
    if (length > maxFrameBytes) return new NetchanError('ETOOBIG', `frame of ${length} bytes > maxFrameBytes (${maxFrameBytes})`);
    if (length === 0) return new NetchanError('EPROTO', 'empty frame');
    pos += LENGTH_BYTES + length;
    if (pos > end) {
      return new NetchanError('EPROTO', `message of ${end} bytes ends inside a frame of ${length} bytes: a frame may not be split across messages`);
    }
  }
  return null;
}

/**
 * Cuts a batch of whole frames into messages of at most `maxBytes`, at frame
 * boundaries only; a frame larger than `maxBytes` gets a message of its own.
 * The messages are views into `batch`, in order; a batch that fits is returned
 * as is.
 *
 * ```
 * maxBytes 10:  [4+3][4+2][4+9][4+1]  ->  [4+3] | [4+2] | [4+9] | [4+1]
 * maxBytes 16:  [4+3][4+2][4+9][4+1]  ->  [4+3][4+2] | [4+9] | [4+1]
 * ```
 */
export function cutMessages(batch: Uint8Array, maxBytes: number): Uint8Array[] {
  if (batch.length <= maxBytes) return [batch];
  const out: Uint8Array[] = [];
  let start = 0;
  let pos = 0;
  while (pos + LENGTH_BYTES <= batch.length) {
    const next = pos + LENGTH_BYTES + readFrameLength(batch, pos);
    if (next - start > maxBytes && pos > start) {
      out.push(batch.subarray(start, pos));
      start = pos;
    }
    pos = next;
  }
  if (start < batch.length) out.push(batch.subarray(start));
  return out;
}

const NAMES: readonly string[] = Object.entries(FrameType)
  .sort((x, y) => x[1] - y[1])
  .map(([name]) => name.toUpperCase());

/**
 * The name of a frame's type (`'HELLO'`, `'DATA'`, …, or `'?'`), read from a
 * whole frame, prefix included. Every body is a MessagePack array whose first
 * element is the type, a positive fixint.
 */
export function frameTypeName(frame: Uint8Array): string {
  const t = frame.length > LENGTH_BYTES + 1 ? frame[LENGTH_BYTES + 1]! : -1;
  return NAMES[t] ?? '?';
}
