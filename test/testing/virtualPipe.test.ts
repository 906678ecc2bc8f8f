import { describe, expect, it } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import type { ConnectionHandler } from '../../src/index.js';
import { virtualPipe, type VirtualFrame } from '../../src/testing.js';

/** A frame as the protocol writes it: u32be length + MessagePack fixarray [type, …small ints]. */
function frame(type: number, ...rest: number[]): Uint8Array {
  const body = [0x90 + 1 + rest.length, type, ...rest];
  return new Uint8Array([0, 0, 0, body.length, ...body]);
}

interface Log {
  handler: ConnectionHandler;
  events: string[];
}

function recorder(scheduler: { now(): number }): Log {
  const events: string[] = [];
  return {
    events,
    handler: {
      onData: (chunk) => events.push(`${scheduler.now()} data ${Array.from(chunk).join(',')}`),
      onClose: (err) => events.push(`${scheduler.now()} close${err ? ` ${err.message}` : ''}`),
    },
  };
}

function run(fn: (ts: TestScheduler) => void): void {
  const ts = new TestScheduler((a, b) => expect(a).toEqual(b));
  ts.run(() => fn(ts));
}

const PING = frame(7);
const PONG = frame(8);

describe('virtualPipe', () => {
  it('delivers each write `latency` later, in order, both ways', () => {
    run((ts) => {
      const [a, b] = virtualPipe({ latency: 3 });
      const la = recorder(ts);
      const lb = recorder(ts);
      a.start(la.handler);
      b.start(lb.handler);
      a.write(PING);
      ts.schedule(() => b.write(PONG), 1);
      ts.schedule(() => a.write(PONG), 2);
      ts.flush();
      expect(lb.events).toEqual([`3 data ${PING.join(',')}`, `5 data ${PONG.join(',')}`]);
      expect(la.events).toEqual([`4 data ${PONG.join(',')}`]);
      expect(a.framesDelivered).toBe(3);
    });
  });

  it('defaults to a latency of 1 and keepalive false; remote names the peer', () => {
    run((ts) => {
      const [a, b] = virtualPipe();
      const lb = recorder(ts);
      b.start(lb.handler);
      a.write(PING);
      ts.flush();
      expect(lb.events).toEqual([`1 data ${PING.join(',')}`]);
      expect(a.keepalive).toBe(false);
      expect(virtualPipe({ keepalive: true })[0].keepalive).toBe(true);
      expect([a.remote, b.remote]).toEqual(['virtual://b', 'virtual://a']);
    });
  });

  it('takes a latency for each direction', () => {
    run((ts) => {
      const [a, b] = virtualPipe({ latency: [1, 5] });
      const la = recorder(ts);
      const lb = recorder(ts);
      a.start(la.handler);
      b.start(lb.handler);
      a.write(PING);
      b.write(PING);
      ts.flush();
      expect(lb.events[0]).toMatch(/^1 data/);
      expect(la.events[0]).toMatch(/^5 data/);
    });
  });

  it('keeps what arrives before start() and hands it over on start', () => {
    run((ts) => {
      const [a, b] = virtualPipe({ latency: 1 });
      a.write(PING);
      const lb = recorder(ts);
      ts.schedule(() => b.start(lb.handler), 5);
      ts.flush();
      expect(lb.events).toEqual([`5 data ${PING.join(',')}`]);
    });
  });

  it('frameDelay spreads the frames of one write and queues later writes behind them', () => {
    run((ts) => {
      const [a, b] = virtualPipe({ latency: 2, frameDelay: 1 });
      const lb = recorder(ts);
      b.start(lb.handler);
      const two = new Uint8Array([...PING, ...PONG]);
      a.write(two); // PING leaves 0-1, PONG 1-2
      a.write(PING); // queued: 2-3
      ts.flush();
      expect(lb.events.map((e) => e.split(' ')[0])).toEqual(['3', '4', '5']);
    });
  });

  it('bytesPerMs adds the transmission time of each frame', () => {
    run((ts) => {
      const [a, b] = virtualPipe({ latency: 1, bytesPerMs: 2 });
      const lb = recorder(ts);
      b.start(lb.handler);
      a.write(frame(2, 1, 2, 3, 4, 5)); // 4 + 7 = 11 bytes: 6 ms on the wire
      ts.flush();
      expect(lb.events[0]).toMatch(/^7 data/);
    });
  });

  it('close(): the peer receives everything written before, then both ends close', () => {
    run((ts) => {
      const [a, b] = virtualPipe({ latency: 2, frameDelay: 1 });
      const la = recorder(ts);
      const lb = recorder(ts);
      a.start(la.handler);
      b.start(lb.handler);
      a.write(PING);
      a.write(PONG);
      a.close();
      a.close(); // idempotent
      a.write(PING); // ignored once closed
      ts.flush();
      expect(lb.events.map((e) => e.split(' ').slice(0, 2).join(' '))).toEqual(['3 data', '4 data', '4 close']);
      expect(la.events).toEqual(['4 close']);
    });
  });

  it('dropAt: both ends close with an error at that time; frames in flight are lost', () => {
    run((ts) => {
      const [a, b] = virtualPipe({ latency: 3, dropAt: 4 });
      const la = recorder(ts);
      const lb = recorder(ts);
      a.start(la.handler);
      b.start(lb.handler);
      a.write(PING); // arrives at 3
      ts.schedule(() => a.write(PONG), 2); // would arrive at 5: lost
      ts.flush();
      expect(lb.events).toEqual([`3 data ${PING.join(',')}`, '4 close virtual connection dropped at 4']);
      expect(la.events).toEqual(['4 close virtual connection dropped at 4']);
    });
  });

  it('dropOn: the chosen frame and everything after it are lost; trace sees the frames before it', () => {
    run((ts) => {
      const seen: string[] = [];
      const trace = (f: VirtualFrame) => seen.push(`${f.time} ${f.index} ${f.from} ${f.type}`);
      const [a, b] = virtualPipe({ latency: 1, dropOn: (f) => f.type === 'PONG', trace });
      const la = recorder(ts);
      const lb = recorder(ts);
      a.start(la.handler);
      b.start(lb.handler);
      a.write(new Uint8Array([...PING, ...PONG, ...PING]));
      ts.flush();
      expect(seen).toEqual(['1 1 a PING']);
      expect(lb.events).toEqual([`1 data ${PING.join(',')}`, '1 close virtual connection dropped at frame 2 (PONG from a)']);
    });
  });

  it('drop() and received$', () => {
    run((ts) => {
      const [a, b] = virtualPipe({ latency: 1 });
      const types: string[] = [];
      let completed = false;
      b.received$.subscribe({ next: (f) => types.push(f.type), complete: () => (completed = true) });
      const lb = recorder(ts);
      b.start(lb.handler);
      a.write(PING);
      ts.schedule(() => b.drop('by test'), 3);
      ts.flush();
      expect(types).toEqual(['PING']);
      expect(completed).toBe(true);
      expect(lb.events.at(-1)).toBe('3 close virtual connection by test');
    });
  });

  it('stall(): frames are lost silently; close() then ends only the closing end', () => {
    run((ts) => {
      const [a, b] = virtualPipe({ latency: 1 });
      const la = recorder(ts);
      const lb = recorder(ts);
      a.start(la.handler);
      b.start(lb.handler);
      a.stall();
      a.write(PING);
      ts.schedule(() => b.close(), 5);
      ts.flush();
      expect(la.events).toEqual([]);
      expect(lb.events).toEqual(['5 close']);
      a.close();
      ts.flush();
      expect(la.events).toEqual(['5 close']);
    });
  });

  it('highWaterMark: write() returns false while the link holds that many bytes; onDrain once half has arrived', () => {
    run((ts) => {
      // 10 bytes per ms: each 10-byte frame takes 1 ms on the link.
      const [a, b] = virtualPipe({ latency: 1, bytesPerMs: 10, highWaterMark: 30 });
      const drains: number[] = [];
      a.start({ onData: () => {}, onClose: () => {}, onDrain: () => void drains.push(ts.now()) });
      b.start(recorder(ts).handler);
      const f = new Uint8Array([0, 0, 0, 6, 0x95, 2, 1, 2, 3, 4]); // 10 bytes
      expect(a.write(f)).toBe(true);
      expect(a.write(f)).toBe(true);
      expect(a.write(f)).toBe(false); // 30 in the link
      expect(a.bufferedBytes).toBe(30);
      // Arrivals at 2, 3, 4: 20 then 10 left; half (15) is reached at 3.
      ts.flush();
      expect(drains).toEqual([3]);
      expect(a.bufferedBytes).toBe(0);
    });
  });

  it('pause(): a peer that stops reading holds frames in the link (the writer backs up); resume() delivers them in order', () => {
    run((ts) => {
      const [a, b] = virtualPipe({ latency: 1, highWaterMark: 20 });
      const la = recorder(ts);
      const lb = recorder(ts);
      const drains: number[] = [];
      a.start({ ...la.handler, onDrain: () => void drains.push(ts.now()) });
      b.start(lb.handler);
      b.pause();
      expect(a.write(PING)).toBe(true);
      ts.schedule(() => expect(a.write(PONG)).toBe(true), 5);
      ts.schedule(() => expect(a.write(new Uint8Array([0, 0, 0, 9, 0x98, 7, 0, 0, 0, 0, 0, 0, 0]))).toBe(false), 6);
      ts.schedule(() => b.resume(), 50);
      ts.flush();
      // All three, in order, in one delivery at 50.
      expect(lb.events).toHaveLength(1);
      expect(lb.events[0]).toBe(`50 data ${[...PING, ...PONG, 0, 0, 0, 9, 0x98, 7, 0, 0, 0, 0, 0, 0, 0].join(',')}`);
      expect(drains).toEqual([50]);
      expect(a.bufferedBytes).toBe(0);
    });
  });

  it('destroy(error): both ends close at once, this one with that error; what was in flight is lost', () => {
    run((ts) => {
      const [a, b] = virtualPipe({ latency: 3 });
      const la = recorder(ts);
      const lb = recorder(ts);
      a.start(la.handler);
      b.start(lb.handler);
      a.write(PING);
      ts.schedule(() => a.destroy(new Error('write timeout')), 1);
      ts.flush();
      expect(la.events).toEqual(['1 close write timeout']);
      expect(lb.events).toEqual(['1 close virtual connection destroyed by a: write timeout']);
    });
  });

  it('runs in real time outside TestScheduler.run()', async () => {
    const [a, b] = virtualPipe({ latency: 5 });
    const got = new Promise<number>((resolve) => b.start({ onData: (c) => resolve(c.length), onClose: () => {} }));
    const t0 = Date.now();
    a.write(PING);
    expect(await got).toBe(PING.length);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4);
    a.close();
  });
});
