/**
 * The assertion to give `TestScheduler`: deep equality of the notifications,
 * except that errors compare by `name`, `message` and `code` only. The stack,
 * `cause` and extra fields (`DrainTimeoutError.pending`, say) are ignored, so a
 * `'#'` in a diagram can stand for any rx-netchan error with the right code and
 * message. Works with any test runner: it throws an `Error` listing both sides
 * when they differ, and honours asymmetric matchers (`expect.any(Function)`)
 * in the expected values. After rxjs's own spec/helpers/observableMatcher.ts.
 *
 * ```
 * expected:  --a--#        # = { name: 'DrainTimeoutError', code: 'ETIMEDOUT', message: … }
 * actual:    --a--#        # = DrainTimeoutError { pending: 3, stack: …, … }   → equal
 * ```
 *
 * ## Example
 * ```ts
 * import { TestScheduler } from 'rxjs/testing';
 * import { observableMatcher } from 'rx-netchan/testing';
 *
 * const testScheduler = new TestScheduler(observableMatcher);
 * testScheduler.run(({ expectObservable }) => {
 *   expectObservable(source).toBe('--a--#', { a: 1 }, new NetchanError('ECLOSED', 'connection ended'));
 * });
 * ```
 * @param actual What the Observable did (TestScheduler's recorded messages).
 * @param expected What the diagram says.
 * @throws Error naming the first difference, with both sides, when they differ.
 * @see normalizeErrors to use your runner's own deep equality and diff.
 */
export function observableMatcher(actual: unknown, expected: unknown): void {
  const a = normalizeErrors(actual);
  const e = normalizeErrors(expected);
  const where = difference(a, e, '');
  if (where === null) return;
  throw new Error(`Observables differ at ${where || 'the top'}\n\nexpected:\n${show(e)}\n\nactual:\n${show(a)}`);
}

/**
 * `value` with every `Error` in it (in arrays, plain objects and TestScheduler
 * notifications) replaced by `{ name, message, code? }`; for a runner's own
 * deep equality: `new TestScheduler((a, e) => expect(normalizeErrors(a)).toEqual(normalizeErrors(e)))`.
 */
export function normalizeErrors(value: unknown): unknown {
  if (value instanceof Error) {
    const out: { name: string; message: string; code?: unknown } = { name: value.name, message: value.message };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    return out;
  }
  if (Array.isArray(value)) return value.map(normalizeErrors);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(value)) out[k] = normalizeErrors(x);
    return out;
  }
  return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** An asymmetric matcher of Jest, Vitest and others (`expect.any(Function)`, `expect.objectContaining(…)`). */
interface AsymmetricMatcher {
  asymmetricMatch(other: unknown): boolean;
  toAsymmetricMatcher?(): string;
}

function isAsymmetric(v: unknown): v is AsymmetricMatcher {
  return v !== null && typeof v === 'object' && typeof (v as Partial<AsymmetricMatcher>).asymmetricMatch === 'function';
}

/**
 * Path of the first difference (`''` for the top), or null when equal. Like
 * `toEqual`: undefined properties count as absent, and an asymmetric matcher
 * in `e` decides for itself.
 */
function difference(a: unknown, e: unknown, path: string): string | null {
  if (Object.is(a, e)) return null;
  if (isAsymmetric(e)) return e.asymmetricMatch(a) ? null : path;
  if (typeof a !== 'object' || typeof e !== 'object' || a === null || e === null) return path;
  if (a instanceof Date || e instanceof Date) {
    return a instanceof Date && e instanceof Date && Object.is(a.getTime(), e.getTime()) ? null : path;
  }
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(e)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(e) || a.constructor !== e.constructor || a.byteLength !== e.byteLength) return path;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(e.buffer, e.byteOffset, e.byteLength);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return path;
    return null;
  }
  if (Array.isArray(a) || Array.isArray(e)) {
    if (!Array.isArray(a) || !Array.isArray(e)) return path;
    for (let i = 0; i < Math.max(a.length, e.length); i++) {
      if (i >= a.length || i >= e.length) return `${path}[${i}]`;
      const d = difference(a[i], e[i], `${path}[${i}]`);
      if (d !== null) return d;
    }
    return null;
  }
  if (a instanceof Map || e instanceof Map) {
    if (!(a instanceof Map) || !(e instanceof Map) || a.size !== e.size) return path;
    for (const [k, v] of e) {
      if (!a.has(k) || difference(a.get(k), v, '') !== null) return `${path}.get(${String(k)})`;
    }
    return null;
  }
  if (a instanceof Set || e instanceof Set) {
    if (!(a instanceof Set) || !(e instanceof Set) || a.size !== e.size) return path;
    for (const v of e) if (!a.has(v) && ![...a].some((x) => difference(x, v, '') === null)) return path;
    return null;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(e)]);
  for (const k of keys) {
    const d = difference((a as Record<string, unknown>)[k], (e as Record<string, unknown>)[k], `${path}.${k}`);
    if (d !== null) return d;
  }
  return null;
}

interface TestMessage {
  frame: number;
  notification: { kind: 'N' | 'E' | 'C'; value?: unknown; error?: unknown };
}

function isTestMessages(v: unknown): v is TestMessage[] {
  return Array.isArray(v) && v.every((m) => isPlainObject(m) && typeof m['frame'] === 'number' && isPlainObject(m['notification']));
}

/** One line per notification for TestScheduler messages, else the value. */
function show(v: unknown): string {
  if (!isTestMessages(v)) return `  ${format(v)}`;
  if (v.length === 0) return '  (nothing)';
  return v
    .map(({ frame, notification: n }) => {
      const what = n.kind === 'N' ? `next ${format(n.value)}` : n.kind === 'E' ? `error ${format(n.error)}` : 'complete';
      return `  ${String(frame).padStart(4)}: ${what}`;
    })
    .join('\n');
}

function format(v: unknown, depth = 0): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === undefined || typeof v !== 'object' || v === null) return String(v);
  if (depth > 4) return '…';
  if (isAsymmetric(v)) return v.toAsymmetricMatcher?.() ?? String(v);
  if (v instanceof Date) return `Date(${Number.isNaN(v.getTime()) ? 'invalid' : v.toISOString()})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength})`;
  if (Array.isArray(v)) return `[${v.map((x) => format(x, depth + 1)).join(', ')}]`;
  if (v instanceof Map) return `Map {${[...v].map(([k, x]) => `${format(k, depth + 1)} => ${format(x, depth + 1)}`).join(', ')}}`;
  if (v instanceof Set) return `Set {${[...v].map((x) => format(x, depth + 1)).join(', ')}}`;
  const name = isPlainObject(v) ? '' : `${(v as object).constructor?.name ?? 'Object'} `;
  return `${name}{ ${Object.entries(v)
    .map(([k, x]) => `${k}: ${format(x, depth + 1)}`)
    .join(', ')} }`;
}
