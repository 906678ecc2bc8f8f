// Bad input from the network, over real TCP sockets written to by hand. Each
// offender gets a NetchanError (an ERROR frame it can see, and an entry on
// exporter.errors$) and its connection closed; the process and a good importer
// connected at the same time keep working, and the exporter's queued values,
// including those the offender held unacknowledged, are not lost.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Exporter, Importer, exportChannel, importChannel, memoryPipe, isNetchanError, type NetchanError, type SendChannel } from '../src/index.js';
import '../src/node.js';
import { range, record, type Recorder } from './helpers/async.js';
import { handleBaseline } from './helpers/leaks.js';
import { settledHandles } from './helpers/transports.js';
import { fakeExporter, frameBytes, RawPeer, T, withLength } from './helpers/rawPeer.js';

const LIMIT = 4096;
const JOBS = 10;

interface Case {
  name: string;
  /** The code the offender is told (and exporter.errors$ shows). `string[]`: any of these (OS-dependent). */
  code: string | string[];
  /** Message fragment to expect. */
  message?: RegExp;
  /** The offender can still read when it is refused, so it must see the ERROR frame. */
  visible: boolean;
  /** HELLO and take 3 jobs (held unacknowledged) before misbehaving. */
  bind: boolean;
  act(peer: RawPeer): void | Promise<void>;
}

const cases: Case[] = [
  {
    name: 'garbage bytes (an HTTP request): its first 4 bytes read as a huge length',
    code: 'ETOOBIG',
    message: /> maxFrameBytes \(4096\)/,
    visible: true,
    bind: false,
    act: (p) => p.sendRaw('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'),
  },
  {
    name: 'garbage bytes inside a well-formed length prefix',
    code: 'EPROTO',
    message: /malformed frame/,
    visible: true,
    bind: false,
    act: (p) => p.sendRaw(withLength(Uint8Array.from([0xc1, 0xc1, 0xc1, 0xc1]))),
  },
  {
    name: 'garbage after the handshake, while holding values',
    code: 'EPROTO',
    visible: true,
    bind: true,
    act: (p) => p.sendRaw(withLength(Uint8Array.from([0x93, 0x02, 0xc1, 0xc1]))),
  },
  {
    name: 'a frame over the limit: refused from its header alone, before any body is sent',
    code: 'ETOOBIG',
    message: /5000 bytes > maxFrameBytes \(4096\)/,
    visible: true,
    bind: true,
    act: (p) => p.sendRaw(Uint8Array.from([0, 0, 0x13, 0x88])), // 5000, and no body at all
  },
  {
    name: 'a truncated frame, then the peer closes (vanishes mid-frame)',
    code: 'EPROTO',
    message: /mid-frame/,
    visible: false,
    bind: true,
    act: (p) => {
      const whole = frameBytes([T.Data, 1, 'x'.repeat(100)]);
      p.sendRaw(whole.subarray(0, 20));
      p.socket.end();
    },
  },
  {
    name: 'a header with no body, then the peer closes',
    code: 'EPROTO',
    message: /mid-frame/,
    visible: false,
    bind: true,
    act: (p) => {
      p.sendRaw(Uint8Array.from([0, 0, 0, 100]));
      p.socket.end();
    },
  },
  {
    name: 'a truncated frame, then the socket is destroyed (reset)',
    code: ['EPROTO', 'ECLOSED'],
    visible: false,
    bind: true,
    act: async (p) => {
      p.sendRaw(frameBytes([T.Data, 1, 'x'.repeat(100)]).subarray(0, 20));
      await new Promise<void>((r) => p.socket.write(new Uint8Array(0), () => r()));
      p.destroy();
    },
  },
  {
    name: 'an unknown frame type',
    code: 'EPROTO',
    message: /unknown frame type 42/,
    visible: true,
    bind: true,
    act: (p) => p.send([42, 1]),
  },
  {
    name: 'a frame that is not an array',
    code: 'EPROTO',
    visible: true,
    bind: true,
    act: (p) => p.sendRaw(withLength(Uint8Array.from([0xa2, 0x68, 0x69]))), // "hi"
  },
  {
    name: 'a value (DATA) for a binding never opened',
    code: 'EPROTO',
    message: /binding 99, which was never opened/,
    visible: true,
    bind: true,
    act: (p) => p.send([T.Data, 99, 'sneaky']),
  },
  {
    name: 'the wrong protocol version',
    code: 'EPROTO',
    message: /unsupported protocol version 1; this side speaks 2 \(the peer runs an rx-netchan older than 0.2/,
    visible: true,
    bind: false,
    act: (p) => p.hello(1),
  },
  {
    name: 'DATA before HELLO',
    code: 'EPROTO',
    message: /expected HELLO/,
    visible: true,
    bind: false,
    act: (p) => p.send([T.Data, 1, 'early']),
  },
  {
    name: 'HELLO twice',
    code: 'EPROTO',
    message: /HELLO received twice/,
    visible: true,
    bind: true,
    act: (p) => p.hello(),
  },
  {
    name: 'an OPEN that reuses a binding id',
    code: 'EPROTO',
    message: /reuses binding id 1/,
    visible: true,
    bind: true,
    act: (p) => p.send([T.Open, 1, 'jobs', 0, 3, -1]),
  },
  {
    name: 'an ACK beyond what was sent',
    code: 'EPROTO',
    message: /ACK 10 for binding 1 of channel "jobs", which was sent only 3/,
    visible: true,
    bind: true,
    act: (p) => p.send([T.Ack, 1, 10]),
  },
  // Every numeric field of every frame is checked before use (NaN once switched a window off).
  ...(
    [
      ['an OPEN whose size is NaN', [T.Open, 3, 'sink', 1, Number.NaN, -1], /size must be an unsigned integer, got NaN/],
      ['an OPEN whose size is a float', [T.Open, 3, 'sink', 1, 1.5, -1], /size must be an unsigned integer, got 1.5/],
      ['an OPEN whose count is -2', [T.Open, 3, 'sink', 1, 4, -2], /count must be an unsigned integer, got -2/],
      ['an OPEN whose id is past 2^53', [T.Open, 2 ** 60, 'sink', 1, 4, -1], /id must be an unsigned integer/],
      ['an OPEN whose direction is 7', [T.Open, 3, 'sink', 7, 4, -1], /dir must be 0 or 1/],
      ['an OPEN whose adaptive max is a float', [T.Open, 3, 'sink', 1, 4, -1, 9.5], /max must be an unsigned integer, got 9.5/],
      ['an END whose total is a string', [T.End, 1, 'ten'], /total must be an unsigned integer, got the string "ten"/],
      ['a CANCEL whose ack is negative', [T.Cancel, 1, -1], /acked must be an unsigned integer, got -1/],
      ['an ERROR whose count is Infinity', [T.Error, 1, 'EPROTO', 'x', Number.POSITIVE_INFINITY], /n must be an unsigned integer, got Infinity/],
      ['a RECEIPT for more frames than were sent', [T.Receipt, 1_000_000], /RECEIPT 1000000 for 0 reliable frame\(s\) sent/],
      ['a REPLAY whose seq is nil', [T.Replay, 1, null, 3], /seq must be an unsigned integer, got nil/],
      ['a PING whose receipt is a float', [T.Ping, 0.5], /receipt must be an unsigned integer, got 0.5/],
      ['a CANCEL that acknowledges more than was sent', [T.Cancel, 1, 99], /acknowledging 99 for binding 1 of channel "jobs", which was sent only 3/],
    ] as const
  ).map(
    ([name, frame, message]): Case => ({ name, code: 'EPROTO', message, visible: true, bind: true, act: (p) => p.send(frame) }),
  ),
  {
    name: 'a HELLO whose maxFrameBytes is NaN',
    code: 'EPROTO',
    message: /maxFrameBytes must be an unsigned integer, got NaN/,
    visible: true,
    bind: false,
    act: (p) => p.hello(2, { maxFrameBytes: Number.NaN }),
  },
  {
    name: 'a HELLO whose maxWindow is negative',
    code: 'EPROTO',
    message: /maxWindow must be an unsigned integer, got -1/,
    visible: true,
    bind: false,
    act: (p) => p.hello(2, { maxWindow: -1 }),
  },
  {
    name: 'a 16 MiB length prefix before the handshake: refused from the header, nothing reserved',
    code: 'ETOOBIG',
    message: /16777216 bytes > maxFrameBytes \(4096\)/,
    visible: true,
    bind: false,
    act: (p) => p.sendRaw(Uint8Array.from([1, 0, 0, 0])),
  },
  {
    name: 'sending past the window',
    code: 'EPROTO',
    message: /channel "sink": peer sent past the window of 2/,
    visible: true,
    bind: true,
    act: (p) => {
      p.send([T.Open, 3, 'sink', 1, 2, -1]);
      // Three values into a window of two, all before any ACK could come back.
      p.sendRaw(Buffer.concat([frameBytes([T.Data, 3, 'a']), frameBytes([T.Data, 3, 'b']), frameBytes([T.Data, 3, 'c'])]));
    },
  },
  {
    name: "sending past an adaptive window's cap (OPEN size 2, max 3: a third value is allowed, a fourth is not)",
    code: 'EPROTO',
    message: /channel "sink": peer sent past the window of 3/,
    visible: true,
    bind: true,
    act: (p) => {
      p.send([T.Open, 3, 'sink', 1, 2, -1, 3]);
      p.sendRaw(Buffer.concat(['a', 'b', 'c', 'd'].map((v) => frameBytes([T.Data, 3, v]))));
    },
  },
];

describe('bad input over a real TCP socket', () => {
  let base: string[];
  let exporter: Exporter;
  let url: string;
  let jobs: SendChannel<number>;
  let inbox: Recorder<string>;
  let exporterErrors: Recorder<NetchanError>;
  let good: Importer;
  let goodErrors: Recorder<NetchanError>;
  let goodOut: SendChannel<string>;
  let peer: RawPeer | undefined;

  beforeEach(async () => {
    base = handleBaseline();
    exporter = new Exporter({ maxFrameBytes: LIMIT });
    jobs = exportChannel<number>(exporter, 'jobs', 'send');
    inbox = record(exportChannel<string>(exporter, 'inbox', 'recv', { keepOpen: true }));
    exportChannel<string>(exporter, 'sink', 'recv', { keepOpen: true }); // nobody reads it
    exporterErrors = record(exporter.errors$);
    ({ url } = await exporter.listen('tcp://127.0.0.1:0'));
    // A good importer, connected the whole time.
    good = Importer.connect(url);
    goodErrors = record(good.errors$);
    goodOut = importChannel<string>(good, 'inbox', 'send');
    goodOut.next('before');
    await inbox.count(1);
    for (const v of range(JOBS)) jobs.next(v); // queued: no receiver yet
  });

  afterEach(async () => {
    peer?.destroy();
    peer = undefined;
    await good.close();
    await exporter.close();
    expect(await settledHandles(base)).toEqual([]);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    peer = await RawPeer.connect(url);
    if (c.bind) {
      peer.hello();
      peer.send([T.Open, 1, 'jobs', 0, 3, -1]);
      const data = await peer.count((f) => f[0] === T.Data, 3);
      expect(data.map((f) => f[2])).toEqual([0, 1, 2]); // held, never acknowledged
    }
    await c.act(peer);

    const codes = Array.isArray(c.code) ? c.code : [c.code];
    if (c.visible) {
      const err = await peer.frame((f) => f[0] === T.Error);
      expect(err[1]).toBe(0); // the connection, not a binding
      expect(codes).toContain(err[2]);
      if (c.message) expect(err[3]).toMatch(c.message);
    }
    await peer.whenClosed();

    await exporterErrors.count(1);
    const e = exporterErrors.values[0]!;
    expect(isNetchanError(e)).toBe(true);
    expect(codes).toContain(e.code);
    if (c.message && codes.length === 1) expect(e.message).toMatch(c.message);
    expect(exporterErrors.values.length).toBe(1);

    // The good importer is unaffected: it still sends...
    goodOut.next('after');
    await inbox.count(2);
    expect(inbox.values).toEqual(['before', 'after']);
    // ...and gets every queued value, including those the offender held, in order.
    const got = record(importChannel<number>(good, 'jobs', 'recv', { count: JOBS }));
    await got.end();
    expect(got.values).toEqual(range(JOBS));
    expect(goodErrors.values).toEqual([]);
    expect(exporter.clients.length).toBe(1);
  });

  it("a peer cannot choose the code we report: a connection ERROR with code 'EVIL' shows as 'EREMOTE'", async () => {
    peer = await RawPeer.connect(url);
    peer.hello();
    peer.send([T.Error, 0, 'EVIL', 'i made this up']);
    await peer.whenClosed();
    await exporterErrors.count(1);
    expect(exporterErrors.values[0]).toMatchObject({ code: 'EREMOTE' });
    expect(exporterErrors.values[0]!.message).toMatch(/i made this up/);
  });

  it('a peer that drips a frame one byte at a time is dropped by keepalive (bytes alone do not count as alive)', async () => {
    const e = new Exporter({ keepalive: 60 });
    const errs = record(e.errors$);
    const { url: u } = await e.listen('tcp://127.0.0.1:0');
    const drip = await RawPeer.connect(u);
    try {
      drip.hello();
      const frame = frameBytes([T.Open, 1, 'x'.repeat(200), 0, 1, -1]);
      let i = 0;
      const timer = setInterval(() => {
        if (i < frame.length && !drip.closed) drip.sendRaw(frame.subarray(i, ++i));
      }, 10);
      try {
        await drip.whenClosed(3_000); // 2 × 60 ms after HELLO, not after the last byte
      } finally {
        clearInterval(timer);
      }
      expect(i).toBeLessThan(frame.length);
      await errs.count(1);
      expect(errs.values[0]).toMatchObject({ code: 'ECLOSED' });
      expect(errs.values[0]!.message).toMatch(/PING unanswered/);
    } finally {
      drip.destroy();
      await e.close();
    }
  });

  it('many offenders at once do not disturb each other or the good importer', async () => {
    const peers = await Promise.all(range(5).map(() => RawPeer.connect(url)));
    try {
      peers.forEach((p, i) => {
        p.hello();
        p.send([T.Open, 1, 'jobs', 0, 1, -1]);
        if (i % 2 === 0) p.send([T.Data, 77, 'x']);
        else p.sendRaw('\x00\x00\x00\x02\xff\xff');
      });
      await Promise.all(peers.map((p) => p.whenClosed()));
      await exporterErrors.count(5);
      expect(exporterErrors.values.every((e) => e.code === 'EPROTO')).toBe(true);
      const got = record(importChannel<number>(good, 'jobs', 'recv', { count: JOBS }));
      await got.end();
      // Each offender's values went back to the front as it was lost: all there, once each.
      expect([...got.values].sort((a, b) => a - b)).toEqual(range(JOBS));
    } finally {
      for (const p of peers) p.destroy();
    }
  });
});

describe('a misbehaving exporter, toward a real Importer', () => {
  let base: string[];
  beforeEach(() => {
    base = handleBaseline();
  });

  const exporterCases: Array<{ name: string; code: string; message?: RegExp; act(p: RawPeer): void }> = [
    { name: 'garbage instead of HELLO', code: 'EPROTO', act: (p) => p.sendRaw(withLength(Uint8Array.from([0xc1, 0xc1, 0xc1]))) },
    { name: 'raw text', code: 'ETOOBIG', act: (p) => p.sendRaw('HTTP/1.1 400 Bad Request\r\n\r\n') },
    { name: 'the wrong protocol version', code: 'EPROTO', message: /unsupported protocol version 7/, act: (p) => p.send([T.Hello, 7, {}]) },
    {
      name: 'DATA for a binding it was never asked for',
      code: 'EPROTO',
      message: /never opened/,
      act: (p) => {
        p.send([T.Hello, 2, {}]);
        p.send([T.Data, 50, 1]);
      },
    },
    {
      name: 'more DATA than the window allows',
      code: 'EPROTO',
      message: /past the window of 1/,
      act: (p) => {
        p.send([T.Hello, 2, {}]);
        // The importer opens binding 1 with size 1; it has not acknowledged the first value when the second lands.
        p.sendRaw(Buffer.concat([frameBytes([T.Data, 1, 'a']), frameBytes([T.Data, 1, 'b'])]));
      },
    },
    {
      name: "an OPEN with an id from the importer's id space (odd ids are the dialer's)",
      code: 'EPROTO',
      act: (p) => {
        p.send([T.Hello, 2, {}]);
        p.send([T.Open, 1, 'x', 0, 1, -1]);
      },
    },
    {
      name: 'vanishing mid-frame',
      code: 'EPROTO',
      message: /mid-frame/,
      act: (p) => {
        p.send([T.Hello, 2, {}]);
        p.sendRaw(Uint8Array.from([0, 0, 0, 50, 0x93]));
        p.socket.end();
      },
    },
  ];

  it.each(exporterCases.map((c) => [c.name, c] as const))('%s: importer.errors$ and its imports get the error, and the connection closes', async (_name, c) => {
    const fake = await fakeExporter((p) => {
      // Wait for the importer's HELLO and OPEN, then misbehave.
      void p.frame((f) => f[0] === T.Open).then(() => c.act(p));
    });
    const importer = Importer.connect(fake.url, { maxFrameBytes: LIMIT });
    try {
      const errors = record(importer.errors$);
      const sub = record(importChannel<number>(importer, 'jobs', 'recv', { size: 1, ack: 'manual' }));
      await errors.count(1);
      expect(errors.values[0]!.code).toBe(c.code);
      expect(isNetchanError(errors.values[0])).toBe(true);
      if (c.message) expect(errors.values[0]!.message).toMatch(c.message);
      await sub.end();
      expect((sub.error as NetchanError).code).toBe(c.code);
      await errors.end(); // errors$ completes once the connection is gone
      expect(importer.closed).toBe(true);
      const peer = fake.peers[0]!;
      await peer.whenClosed();
      if (c.name !== 'vanishing mid-frame') {
        // The importer told the fake exporter why before closing.
        const err = await peer.frame((f) => f[0] === T.Error);
        expect(err.slice(1, 3)).toEqual([0, c.code]);
      }
    } finally {
      await importer.close();
      await fake.close();
    }
    expect(await settledHandles(base)).toEqual([]);
  });
});

describe('session fuzz over memoryPipe', () => {
  it('random bytes after a valid HELLO only ever produce NetchanError on exporter.errors$, never a throw', async () => {
    let seed = 12345;
    const next = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const exporter = new Exporter({ maxFrameBytes: 512 });
    const jobs = exportChannel<number>(exporter, 'jobs', 'send');
    exportChannel<number>(exporter, 'in', 'recv', { keepOpen: true });
    const errors = record(exporter.errors$);
    const rounds = 200;
    for (let r = 0; r < rounds; r++) {
      const [a, b] = memoryPipe();
      exporter.serveConnection(a);
      b.start({ onData() {}, onClose() {} });
      b.write(frameBytes([T.Hello, 2, {}]));
      b.write(frameBytes([T.Open, 1, 'jobs', 0, 2, -1]));
      // Mostly plausible frames with random fields, some pure noise.
      const body = Uint8Array.from({ length: 1 + Math.floor(next() * 30) }, () => Math.floor(next() * 256));
      if (r % 2 === 0) body[0] = 0x91 + Math.floor(next() * 6);
      if (r % 4 === 0) body[1] = Math.floor(next() * 12);
      b.write(r % 5 === 0 ? body : withLength(body));
      b.close();
    }
    jobs.next(1);
    // Every connection ends without a goodbye, so each reports exactly one error: its violation, or the drop.
    await errors.count(rounds);
    expect(exporter.clients.length).toBe(0);
    expect(errors.values.length).toBe(rounds);
    for (const e of errors.values) {
      expect(isNetchanError(e)).toBe(true);
      expect(['EPROTO', 'ETOOBIG', 'ECLOSED', 'ENOCHAN', 'EDIR', 'EREMOTE']).toContain(e.code);
    }
    expect(jobs.pending).toBe(1); // nothing consumed it: the value is still there
    await exporter.close();
  });
});

describe('a peer that goes silent', () => {
  it("is pinged, then dropped with 'ECLOSED' after twice the keepalive; a PING is answered with PONG", async () => {
    const base = handleBaseline();
    const exporter = new Exporter({ keepalive: 100 });
    const jobs = exportChannel<number>(exporter, 'jobs', 'send');
    const errors = record(exporter.errors$);
    const { url } = await exporter.listen('tcp://127.0.0.1:0');
    const peer = await RawPeer.connect(url);
    try {
      peer.hello();
      peer.send([T.Ping]);
      await peer.frame((f) => f[0] === T.Pong);
      peer.send([T.Open, 1, 'jobs', 0, 2, -1]);
      jobs.next(1);
      await peer.frame((f) => f[0] === T.Data);
      // Now say nothing at all: no ACK, no PONG.
      await peer.frame((f) => f[0] === T.Ping, 5_000);
      await peer.whenClosed(5_000);
      await errors.count(1);
      expect(errors.values[0]!.code).toBe('ECLOSED');
      expect(errors.values[0]!.message).toMatch(/keepalive 100 ms/);
      expect(jobs.pending).toBe(1); // the unacknowledged value went back to the queue
    } finally {
      peer.destroy();
      await exporter.close();
    }
    expect(await settledHandles(base)).toEqual([]);
  });
});

describe('refusals that end only a binding, or only the refused importer', () => {
  it("an importer the authenticate hook refuses gets 'EAUTH'; one it accepts works", async () => {
    const base = handleBaseline();
    const exporter = new Exporter({ authenticate: (auth) => auth === 'secret' });
    const jobs = exportChannel<number>(exporter, 'jobs', 'send');
    const errors = record(exporter.errors$);
    const { url } = await exporter.listen('tcp://127.0.0.1:0');
    const bad = Importer.connect(url, { auth: 'guess' });
    const good = Importer.connect(url, { auth: 'secret' });
    try {
      const badErrors = record(bad.errors$);
      const badJobs = record(importChannel<number>(bad, 'jobs', 'recv'));
      await badErrors.count(1);
      expect(badErrors.values[0]!.code).toBe('EAUTH');
      await badJobs.end();
      expect((badJobs.error as NetchanError).code).toBe('EAUTH');
      await errors.count(1);
      expect(errors.values[0]!.code).toBe('EAUTH');
      jobs.next(1);
      const got = record(importChannel<number>(good, 'jobs', 'recv', { count: 1 }));
      await got.end();
      expect(got.values).toEqual([1]);
    } finally {
      await bad.close();
      await good.close();
      await exporter.close();
    }
    expect(await settledHandles(base)).toEqual([]);
  });

  it('an OPEN over maxWindow or maxBindings is refused for that binding only; the connection goes on', async () => {
    const base = handleBaseline();
    const exporter = new Exporter({ maxWindow: 8, maxBindings: 2 });
    const jobs = exportChannel<number>(exporter, 'jobs', 'send');
    const errors = record(exporter.errors$);
    const { url } = await exporter.listen('tcp://127.0.0.1:0');
    const peer = await RawPeer.connect(url);
    try {
      peer.hello();
      // Its HELLO announces the maxWindow it enforces, so adaptive windows grow no further.
      const hello = await peer.frame((f) => f[0] === T.Hello);
      expect(hello[2]).toMatchObject({ maxWindow: 8 });
      peer.send([T.Open, 1, 'jobs', 0, 9, -1]); // window 9 > maxWindow 8
      const e1 = await peer.frame((f) => f[0] === T.Error && f[1] === 1);
      expect(e1[2]).toBe('EPROTO');
      expect(e1[3]).toMatch(/window 9 > this side's maxWindow \(8\)/);
      peer.send([T.Open, 3, 'jobs', 0, 1, -1]);
      peer.send([T.Open, 5, 'jobs', 0, 1, -1]);
      peer.send([T.Open, 7, 'jobs', 0, 1, -1]); // a third binding > maxBindings 2
      const e4 = await peer.frame((f) => f[0] === T.Error && f[1] === 7);
      expect(e4[3]).toMatch(/maxBindings 2/);
      jobs.next(1);
      jobs.next(2);
      const data = await peer.count((f) => f[0] === T.Data, 2);
      expect(data.map((f) => f[2]).sort()).toEqual([1, 2]);
      expect(peer.closed).toBe(false);
      expect(errors.values).toEqual([]);
    } finally {
      peer.destroy();
      await exporter.close();
    }
    expect(await settledHandles(base)).toEqual([]);
  });
});
