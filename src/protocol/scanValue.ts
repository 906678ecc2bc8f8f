import { NetchanError } from '../errors/NetchanError.js';
import type { ValueLimits } from './limits.js';

/**
 * Checks the bytes of one MessagePack value before anything is decoded, so a
 * hostile value costs at most a walk over its headers:
 *
 * - every declared length fits in the bytes left: a str, bin or ext of `n`
 *   bytes needs `n` bytes, an array of `n` items at least `n` bytes, a map of
 *   `n` pairs at least `2n` (each item is at least one byte), counting the
 *   items still owed to the enclosing arrays and maps; so `dd 00 ff ff ff`
 *   (an array of 16.7 M items) in a short frame is refused at its header,
 *   before `@msgpack/msgpack` would run `new Array(16777215)`;
 * - arrays and maps nest at most `maxDepth` deep;
 * - the value holds at most `maxElements` items (array elements, map keys and
 *   map values, all levels together), counted at each header, so the walk
 *   itself stops after `maxElements` items.
 *
 * The value must fill `bytes` exactly.
 *
 * @param bytes The encoded value.
 * @param limits `maxDepth` and `maxElements`.
 * @returns `true` when the value holds `bin` or `ext` data: decoded, those
 *   become views into `bytes`, so the caller decodes a private copy (a small
 *   held `Uint8Array` must not pin a large read buffer).
 * @throws NetchanError `'EPROTO'` for input no encoder could produce (a length
 *   past the end, the reserved byte `0xc1`, trailing bytes), `'ETOOBIG'` when
 *   `maxDepth` or `maxElements` is exceeded. The message names the limit and
 *   the actual size, as msgpack's do: `nesting depth (101) > maxDepth (100)`.
 */
export function scanValue(bytes: Uint8Array, limits: ValueLimits): boolean {
  return scan(bytes, limits).binary;
}

/** What {@link scanValue} found: whether the value holds bin/ext data, and how many items it has. */
export interface ScanResult {
  readonly binary: boolean;
  readonly elements: number;
}

/** {@link scanValue}, also counting the items (so nested values, inside extensions, share one budget). */
export function scan(bytes: Uint8Array, limits: ValueLimits): ScanResult {
  const end = bytes.length;
  const { maxDepth, maxElements } = limits;
  let pos = 0;
  /** Items not yet started, in all open containers (each needs at least one byte). */
  let owed = 1;
  /** Items left in the innermost open container (the root counts as one). */
  let left = 1;
  let depth = 0;
  let elements = 0;
  let binary = false;
  let stack: number[] | null = null;
  for (;;) {
    while (left === 0) {
      if (depth === 0) {
        if (pos !== end) throw malformed(`${end - pos} trailing byte(s) after the value at byte ${pos}`);
        return { binary, elements };
      }
      left = stack![--depth]!;
    }
    left--;
    owed--;
    if (pos >= end) throw malformed(`value ends early: ${owed + 1} item(s) missing at byte ${pos}`);
    const m = bytes[pos]!;
    // Scalars of fixed size: 1 byte (fixints, nil, booleans) or 1 + payload.
    if (m < 0x80 || m >= 0xe0 || (m >= 0xc0 && m <= 0xc3)) {
      if (m === 0xc1) throw malformed(`reserved byte 0xc1 at byte ${pos}`);
      pos++;
      continue;
    }
    let count: number; // items of an array or map
    let isMap = false;
    let length: number; // declared length: items of an array or map, bytes of a str, bin or ext
    let head: number; // bytes of the header (type byte and length)
    if (m < 0x90) {
      isMap = true;
      count = m & 0x0f;
      head = 1;
    } else if (m < 0xa0) {
      count = m & 0x0f;
      head = 1;
    } else if (m < 0xc0) {
      const n = m & 0x1f;
      if (n > end - pos - 1 - owed) throw pastEnd('str', n, pos, end - pos - 1 - owed);
      pos += 1 + n;
      continue;
    } else {
      switch (m) {
        case 0xca: case 0xcb: case 0xcc: case 0xcd: case 0xce: case 0xcf: case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
          const n = FIXED[m - 0xc0]!;
          if (n > end - pos - 1 - owed) throw pastEnd('number', n, pos, end - pos - 1 - owed);
          pos += 1 + n;
          continue;
        }
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: {
          const n = 1 + FIXED[m - 0xc0]!; // type byte + data
          if (n > end - pos - 1 - owed) throw pastEnd('fixext', n, pos, end - pos - 1 - owed);
          binary = true;
          pos += 1 + n;
          continue;
        }
        case 0xc4: case 0xd9: case 0xc7: head = 2; break;
        case 0xc5: case 0xda: case 0xc8: case 0xdc: case 0xde: head = 3; break;
        default: head = 5; // c6 c9 db dd df
      }
      if (head > end - pos - owed) throw malformed(`header at byte ${pos} runs past the value`);
      length = head === 2 ? bytes[pos + 1]! : head === 3 ? (bytes[pos + 1]! << 8) | bytes[pos + 2]! : readU32(bytes, pos + 1);
      if (m === 0xdc || m === 0xdd) {
        count = length;
      } else if (m === 0xde || m === 0xdf) {
        isMap = true;
        count = length;
      } else {
        const ext = m >= 0xc7 && m <= 0xc9;
        const kind = m >= 0xd9 ? 'str' : ext ? 'ext' : 'bin';
        if (m < 0xd9) binary = true;
        const total = length + (ext ? 1 : 0); // ext: the type byte follows the length
        if (total > end - pos - head - owed) throw pastEnd(kind, total, pos, end - pos - head - owed);
        pos += head + total;
        continue;
      }
    }
    // An array or a map: its items must fit in what is left before anything else is checked.
    const items = isMap ? count * 2 : count;
    if (items > end - pos - head - owed) {
      throw malformed(`${isMap ? `map of ${count} pairs` : `array of ${count} items`} at byte ${pos} needs at least ${items} bytes, ${end - pos - head - owed} left`);
    }
    pos += head;
    if (depth + 1 > maxDepth) throw tooBig(`nesting depth (${depth + 1}) > maxDepth (${maxDepth})`);
    elements += items;
    if (elements > maxElements) throw tooBig(`items (${elements}) > maxElements (${maxElements})`);
    if (items === 0) continue;
    owed += items;
    (stack ??= [])[depth++] = left;
    left = items;
  }
}

/** Payload bytes after the type byte, for c0..df (0 where not a fixed-size number). */
const FIXED = [
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 8, 1, 2, 4, 8, // c0..cf: ca float32, cb float64, cc..cf uint8..64
  1, 2, 4, 8, 1, 2, 4, 8, 16, 0, 0, 0, 0, 0, 0, 0, // d0..df: d0..d3 int8..64, d4..d8 fixext data
];

function readU32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function malformed(detail: string): NetchanError {
  return new NetchanError('EPROTO', detail);
}

function pastEnd(kind: string, length: number, at: number, room: number): NetchanError {
  return malformed(`${kind} of ${length} bytes at byte ${at} runs past the value (${Math.max(0, room)} left for it)`);
}

function tooBig(detail: string): NetchanError {
  return new NetchanError('ETOOBIG', detail);
}
