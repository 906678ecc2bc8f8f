import { expect } from 'vitest';

/**
 * The assertion TestScheduler uses to compare notifications: deep equality,
 * except that errors are compared by `name`, `message` and `code` (the stack
 * and `cause` differ from run to run). After rxjs spec/helpers/observableMatcher.ts.
 *
 * ```ts
 * testScheduler = new TestScheduler(observableMatcher);
 * ```
 */
export function observableMatcher(actual: unknown, expected: unknown): void {
  expect(normalize(actual)).toEqual(normalize(expected));
}

function normalize(v: unknown): unknown {
  if (v instanceof Error) {
    const out: Record<string, unknown> = { name: v.name, message: v.message };
    const code = (v as { code?: unknown }).code;
    if (code !== undefined) out['code'] = code;
    return out;
  }
  if (Array.isArray(v)) return v.map(normalize);
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = normalize(x);
    return out;
  }
  return v;
}
