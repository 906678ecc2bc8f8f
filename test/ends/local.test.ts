import { describe, expect, it } from 'vitest';
import { channelPair } from '../../src/ends/channelPair.js';

import { record } from '../helpers/async.js';
describe('local pair', () => {
  it('works', async () => {
    const [recv, send] = channelPair<number>({ size: 2 });
    const got = record(recv);
    send.next(1); send.next(2); send.next(3);
    expect(got.values).toEqual([1, 2, 3]);
    send.complete();
    expect(got.completed).toBe(true);
  });
});
