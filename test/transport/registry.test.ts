// URL mistakes get a message that says what to write: a missing scheme suggests
// tcp://, and 'rx-netchan/node' is suggested only for its schemes while unregistered.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Exporter, Importer, registerTransport, type DialFn, type ListenFn, type NetchanError } from '../../src/index.js';
import { dialerFor, listenerFor, parseUrl } from '../../src/transport/registry.js';
import '../../src/node.js';

/** The registry (shared through globalThis, as the library keeps it), to take a scheme away for one test. */
const registry = (globalThis as unknown as Record<symbol, { listen: Map<string, ListenFn>; dial: Map<string, DialFn> }>)[Symbol.for('rx-netchan.transports')]!;
const saved = { listen: registry.listen, dial: registry.dial };
beforeEach(() => {
  registry.listen = new Map(saved.listen);
  registry.dial = new Map(saved.dial);
});
afterEach(() => {
  registry.listen = saved.listen;
  registry.dial = saved.dial;
});

function thrown(f: () => unknown): NetchanError {
  try {
    f();
  } catch (e) {
    return e as NetchanError;
  }
  throw new Error('expected a throw');
}

describe('URLs without a scheme', () => {
  it.each([
    ['localhost:4000', 'tcp://localhost:4000'],
    ['127.0.0.1:4000', 'tcp://127.0.0.1:4000'],
    ['//example.com:80', 'tcp://example.com:80'],
    ['[::1]:7000', 'tcp://[::1]:7000'],
  ])("Importer.connect('%s') says the scheme is missing and suggests %s", (url, suggested) => {
    const err = thrown(() => Importer.connect(url));
    expect(err.name).toBe('NetchanError');
    expect(err.code).toBe('EINVAL');
    expect(err.message).toBe(`URL "${url}" has no scheme: write "${suggested}" (or tls://, ws://, wss://)`);
    expect(err.message).not.toContain('rx-netchan/node');
  });

  it('exporter.listen() says the same', async () => {
    const exporter = new Exporter();
    await expect(exporter.listen('localhost:0')).rejects.toMatchObject({ code: 'EINVAL', message: 'URL "localhost:0" has no scheme: write "tcp://localhost:0" (or tls://, ws://, wss://)' });
    await exporter.close();
  });

  it('a registered scheme written without // is still taken as a scheme', () => {
    registerTransport('pipe', { dial: () => { throw new Error('not used'); } });
    expect(parseUrl('pipe:jobs').protocol).toBe('pipe:');
  });

  it('a URL that does not parse at all', () => {
    expect(thrown(() => parseUrl('tcp://exa mple.com:1'))).toMatchObject({ code: 'EINVAL', message: 'invalid URL: tcp://exa mple.com:1' });
  });
});

describe("the hint to import 'rx-netchan/node'", () => {
  it('is not given when rx-netchan/node is imported and the scheme is simply unknown', () => {
    const err = thrown(() => Importer.connect('ftp://127.0.0.1:2121'));
    expect(err.code).toBe('EINVAL');
    expect(err.message).toMatch(/^no transport for ftp: URLs; registered here: .*tcp:.*\. registerTransport\(\) adds a scheme$/);
    expect(err.message).not.toContain("import 'rx-netchan/node'");
  });

  it('is given for tcp: while rx-netchan/node is not registered, to dial and to listen', () => {
    registry.dial.delete('tcp:');
    registry.listen.delete('tcp:');
    const hint = "on Node, import 'rx-netchan/node' once (it registers tcp:, tls: and the ws: server)";
    expect(thrown(() => dialerFor(new URL('tcp://127.0.0.1:1'))).message).toBe(`no transport for tcp: URLs here: ${hint}`);
    expect(thrown(() => listenerFor(new URL('tcp://127.0.0.1:0'))).message).toBe(`no listener for tcp: URLs here: ${hint}`);
  });

  it('is given for a ws: server, not for the ws: client (built in everywhere)', () => {
    registry.listen.delete('ws:');
    expect(thrown(() => listenerFor(new URL('ws://127.0.0.1:0/x'))).message).toContain("import 'rx-netchan/node'");
    expect(dialerFor(new URL('ws://127.0.0.1:1/x'))).toBeTypeOf('function');
  });
});
