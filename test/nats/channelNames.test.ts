import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { channelNames, controlStreamName } from '../../src/nats/channelNames.js';

const VALID_TOKEN = /^[A-Za-z0-9_-]+$/;

describe('channelNames', () => {
  it('keeps plain names readable and escapes the rest', () => {
    expect(channelNames('netchan', 'jobs')).toEqual({
      channel: 'jobs',
      stream: 'netchan_jobs',
      subject: 'netchan.ch.jobs',
      consumer: 'netchan',
      registry: 'netchan.reg.jobs',
      control: 'netchan.ctl.jobs',
    });
    expect(channelNames('netchan', 'ctl').stream).not.toBe(controlStreamName('netchan'));
    expect(channelNames('netchan', 'a.b *>/_é').stream).toBe('netchan_a_2Eb_20_2A_3E_2F_5F_C3_A9');
  });

  it('maps distinct names to distinct, valid NATS names', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 120, unit: 'binary' }), fc.string({ minLength: 1, maxLength: 120, unit: 'binary' }), (a, b) => {
        const na = channelNames('p', a);
        const nb = channelNames('p', b);
        for (const n of [na, nb]) {
          expect(n.stream).toMatch(VALID_TOKEN);
          expect(n.stream.length).toBeLessThanOrEqual(2 + 80);
          expect(n.subject.split('.')).toHaveLength(3);
        }
        if (a !== b) expect(na.stream).not.toBe(nb.stream);
        expect(na.stream).not.toBe(controlStreamName('p')); // no channel can take the control stream's name
      }),
      { seed: 12, numRuns: 500 },
    );
  });

  it('refuses an empty name and a prefix NATS cannot hold', () => {
    expect(() => channelNames('netchan', '')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => channelNames('net.chan', 'x')).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('net.chan') }));
    expect(() => channelNames('a_b', 'x')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
