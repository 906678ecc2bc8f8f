import { NetchanError } from '../errors/NetchanError.js';

/**
 * Checks of the numeric fields of control frames. Every number that arrives
 * from a peer passes through one of these before it is used: NaN, floats,
 * negatives and values past 2^53 are protocol violations, never arithmetic.
 */

/** A binding id, sequence number or count: an integer from 0 to 2^53 - 1. */
export function uintField(v: unknown, frame: string, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new NetchanError('EPROTO', `malformed ${frame} frame: ${field} must be an unsigned integer, got ${describe(v)}`);
  }
  return v;
}

/** `count`: -1 (unbounded) or an unsigned integer. */
export function countField(v: unknown, frame: string): number {
  if (v === -1) return -1;
  return uintField(v, frame, 'count');
}

/** An optional unsigned integer (absent: `fallback`). */
export function optionalUint(v: unknown, frame: string, field: string, fallback: number): number {
  return v === undefined || v === null ? fallback : uintField(v, frame, field);
}

function describe(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return `the string "${v.length > 20 ? `${v.slice(0, 20)}…` : v}"`;
  return v === null ? 'nil' : typeof v;
}
