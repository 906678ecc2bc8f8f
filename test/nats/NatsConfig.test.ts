import { describe, expect, it } from 'vitest';
import { resolveNatsConfig } from '../../src/nats/NatsConfig.js';

describe('resolveNatsConfig', () => {
  it('applies the documented defaults', () => {
    expect(resolveNatsConfig()).toEqual({
      servers: [],
      name: 'rx-netchan',
      prefix: 'netchan',
      replicas: 1,
      retention: 'workqueue',
      storage: 'file',
      duplicateWindow: 120_000,
      maxMsgs: -1,
      maxBytes: -1,
      ackWait: 30_000,
      maxDeliver: -1,
      maxAckPending: 65_536,
      maxWaiting: 4_096,
      publishTimeout: 5_000,
      pullExpires: 10_000,
      reconnectTimeWait: 250,
      window: 256,
    });
  });

  it.each([
    [{ replicas: 0 }, 'replicas'],
    [{ replicas: 1.5 }, 'replicas'],
    [{ ackWait: 10 }, 'ackWait'],
    [{ maxDeliver: 0 }, 'maxDeliver'],
    [{ maxAckPending: 0 }, 'maxAckPending'],
    [{ pullExpires: 500 }, 'pullExpires'],
    [{ retention: 'forever' as never }, 'retention'],
    [{ window: 0 }, 'window'],
  ])('refuses %o naming the option', (config, name) => {
    expect(() => resolveNatsConfig(config)).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining(name) }));
  });
});
