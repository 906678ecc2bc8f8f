import { LENGTH_BYTES } from './frame.js';

/**
 * Most bytes the protocol puts into one message on a `'message'` transport
 * (WebSocket), unless the message is a single frame. A receiver therefore never
 * needs to accept a message larger than `max(maxFrameBytes + 4, MAX_MESSAGE_BYTES)`.
 */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/** The u32be length prefix of the frame at `p`. */
export function readLength(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/**
 * Cuts a batch of whole frames at frame boundaries into messages of at most
 * `max` bytes (a larger single frame becomes a message of its own).
 */
export function cutMessages(batch: Uint8Array, max: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  let pos = 0;
  while (pos + LENGTH_BYTES <= batch.length) {
    const next = pos + LENGTH_BYTES + readLength(batch, pos);
    if (next - start > max && pos > start) {
      out.push(batch.subarray(start, pos));
      start = pos;
    }
    pos = next;
  }
  if (start < batch.length) out.push(batch.subarray(start));
  return out;
}
