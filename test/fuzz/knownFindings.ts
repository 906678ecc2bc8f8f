// The issue-8 findings that are still open in the code. While a finding is
// open, the default short fuzz run (fuzz.test.ts) leaves out the inputs that
// trigger it, so `npm test` stays green, and test/fuzz/findings.test.ts
// (FUZZ_FINDINGS=1) reproduces it. When a fix lands: delete its number here,
// run `FUZZ_FINDINGS=1 npx vitest run test/fuzz`, and the default run starts
// generating those inputs again.
import { FULL_LIMITS, type HostileLimits } from './msgpackHostile.js';

/** Findings of issue 8 not fixed yet (1: huge declared lengths, 2: costly frames, 4: unchecked numbers, 8: peer-chosen error codes). */
export const OPEN_FINDINGS: ReadonlySet<number> = new Set<number>([]); // all four fixed (issue 8)

/** `FUZZ_FINDINGS=1`: generate everything, known findings included (read at each call: the CLI sets it). */
export function allInputs(): boolean {
  return process.env['FUZZ_FINDINGS'] === '1';
}

/** True when inputs that trigger finding `n` should be generated. */
export function generates(n: number): boolean {
  return allInputs() || !OPEN_FINDINGS.has(n);
}

/** The MessagePack limits to generate with, given the open findings. */
export function hostileLimits(): HostileLimits {
  return {
    ...FULL_LIMITS,
    // Finding 1: an array/map header declaring up to 2^32 entries makes the
    // decoder allocate them before reading any. Keep declared containers small.
    ...(generates(1) ? {} : { maxOverDeclared: 0xffff, maxOverDeclaredNesting: 8 }),
    // Finding 2: one legal frame can hold the event loop for seconds.
    ...(generates(2) ? {} : { maxDepth: 2_000, maxKeys: 5_000, maxElements: 50_000, maxBytes: 1024 * 1024 }),
  };
}

/**
 * Finding 4: OPEN's size and count, HELLO's numeric options, and ids beyond
 * 2^32 (which DATA/ACK cannot carry) are used without checks (NaN in size
 * turns the window off). While open, the fuzzer puts out-of-range values only
 * where they are already checked.
 */
export function mutatesField(frame: string, field: string, value: unknown): boolean {
  if (generates(4)) return true;
  if (frame === 'OPEN' && (field === 'size' || field === 'count')) return false;
  if (frame === 'HELLO' && field !== 'version') return false;
  return !(typeof value === 'number' && Number.isInteger(value) && value > 2 ** 32 - 1);
}

/** Finding 8: a connection-level ERROR frame's code is reported as is. While open, peers send only our codes there. */
export function anyConnectionErrorCode(): boolean {
  return generates(8);
}
