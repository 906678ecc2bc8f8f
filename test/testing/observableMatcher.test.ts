// rx-netchan/testing's observableMatcher: errors compare by name, message and code,
// whatever else they carry (stack, cause, DrainTimeoutError.pending); everything
// else compares deeply, and a difference throws with both sides listed.
import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import { tap } from 'rxjs';
import { DrainTimeoutError, NetchanError, drain, exportChannel, importChannel } from '../../src/index.js';
import { normalizeErrors, observableMatcher, virtualNetwork } from '../../src/testing.js';

/** A drain that times out with one value unacknowledged, checked against `expectedError`. */
function drainTimesOut(assert: (actual: unknown, expected: unknown) => void, expectedError: unknown): void {
  new TestScheduler(assert).run(({ cold, expectObservable }) => {
    const { exporter, importer } = virtualNetwork({ latency: 2 });
    const jobs = exportChannel<string>(exporter, 'jobs', 'send');
    importChannel<string>(importer, 'jobs', 'recv', { ack: 'manual' }).subscribe(); // never acknowledges
    expectObservable(cold('----a-|').pipe(tap((v) => jobs.next(v)), drain(jobs, { timeout: 5 }))).toBe('----a------#', undefined, expectedError);
  });
}

const message = 'drain timed out after 5 ms with 1 value(s) unacknowledged';

describe('observableMatcher', () => {
  it('matches a DrainTimeoutError against a NetchanError of the same code and message: pending and the stack are ignored', () => {
    expect(() => drainTimesOut(observableMatcher, new NetchanError('ETIMEDOUT', message))).not.toThrow();
    expect(() => drainTimesOut(observableMatcher, { name: 'NetchanError', code: 'ETIMEDOUT', message })).not.toThrow();
  });

  it('where plain toEqual fails on the same diagram (DrainTimeoutError.pending)', () => {
    expect(() => drainTimesOut((a, e) => expect(a).toEqual(e), new NetchanError('ETIMEDOUT', message))).toThrow();
  });

  it('fails on a different code, and says where, with both sides one notification a line', () => {
    let err: Error | undefined;
    try {
      drainTimesOut(observableMatcher, new NetchanError('ECLOSED', message));
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toBe(
      [
        'Observables differ at [1].notification.error.code',
        '',
        'expected:',
        '     4: next "a"',
        `    11: error { name: "NetchanError", message: "${message}", code: "ECLOSED" }`,
        '',
        'actual:',
        '     4: next "a"',
        `    11: error { name: "NetchanError", message: "${message}", code: "ETIMEDOUT" }`,
      ].join('\n'),
    );
  });

  it.each<[string, unknown, unknown, boolean]>([
    ['equal plain values', { a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] }, true],
    ['undefined properties count as absent', { a: 1, b: undefined }, { a: 1 }, true],
    ['NaN equals NaN', [NaN], [NaN], true],
    ['Dates by time', new Date(5), new Date(5), true],
    ['different Dates', new Date(5), new Date(6), false],
    ['bytes by content', Uint8Array.of(1, 2), Uint8Array.of(1, 2), true],
    ['different bytes', Uint8Array.of(1, 2), Uint8Array.of(1, 3), false],
    ['Maps by entries', new Map([['k', { v: 1 }]]), new Map([['k', { v: 1 }]]), true],
    ['different Map values', new Map([['k', 1]]), new Map([['k', 2]]), false],
    ['Sets by members', new Set([{ a: 1 }]), new Set([{ a: 1 }]), true],
    ['BigInt', 10n, 10n, true],
    ['a missing element', [1, 2], [1], false],
    ['a value for an error', new Error('x'), 'x', false],
    ['errors by name, message and code only', Object.assign(new TypeError('t'), { extra: 1 }), new TypeError('t'), true],
    ['errors of different names', new TypeError('t'), new RangeError('t'), false],
    ['an asymmetric matcher that matches', { ack: () => 1 }, { ack: expect.any(Function) }, true],
    ['an asymmetric matcher that does not', { ack: 1 }, { ack: expect.any(Function) }, false],
  ])('%s', (_name, actual, expected, equal) => {
    if (equal) expect(() => observableMatcher(actual, expected)).not.toThrow();
    else expect(() => observableMatcher(actual, expected)).toThrow(/^Observables differ/);
  });

  it('normalizeErrors lets a runner use its own deep equality', () => {
    expect(() => drainTimesOut((a, e) => expect(normalizeErrors(a)).toEqual(normalizeErrors(e)), new DrainTimeoutError('drain', 99, 5))).toThrow(); // message differs
    expect(() => drainTimesOut((a, e) => expect(normalizeErrors(a)).toEqual(normalizeErrors(e)), new NetchanError('ETIMEDOUT', message))).not.toThrow();
  });
});
