import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Exporter, exportChannel, type ExporterConfig } from '../../src/index.js';
import '../../src/node.js';
import { VERSION } from '../../src/cli/version.js';
import { record, range } from '../helpers/async.js';

// The CLI is built from src/ (as tsup builds dist/cli.js) and run as a child
// process against a real exporter in this process.
const outdir = new URL('./.cli-build/', import.meta.url);
const cli = new URL('cli.mjs', outdir).pathname;
const cert = new URL('../fixtures/tls-cert.pem', import.meta.url).pathname;
const key = new URL('../fixtures/tls-key.pem', import.meta.url).pathname;

beforeAll(async () => {
  await build({
    entryPoints: [new URL('../../src/cli.ts', import.meta.url).pathname],
    outfile: cli,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['rxjs', '@msgpack/msgpack', 'ws'],
    logLevel: 'silent',
  });
});
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `args` (and `input` on stdin); resolves when it exits (killed after 15 s). */
function run(args: string[], input = '', env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

let exporter: Exporter | null = null;
async function serve(config: ExporterConfig = {}, scheme = 'tcp'): Promise<{ exporter: Exporter; url: string }> {
  exporter = new Exporter(config);
  const { url } = await exporter.listen(scheme === 'ws' ? 'ws://127.0.0.1:0/netchan' : `${scheme}://127.0.0.1:0`);
  return { exporter, url };
}
afterEach(async () => {
  await exporter?.close();
  exporter = null;
});

describe('rx-netchan (the CLI), as a child process', () => {
  it('--help, --version, and usage mistakes (exit 2)', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: rx-netchan <command>/);
    for (const cmd of ['ls <url>', 'tail <url> <channel>', 'send <url> <channel>', 'stat <url>', '--auth', '--ca', '--count', '--json']) expect(help.stdout).toContain(cmd);
    const version = await run(['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
    expect(VERSION).toBe(version.stdout.trim());
    const wrong = await run(['frobnicate', 'tcp://127.0.0.1:1']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/unknown command: frobnicate/);
    expect((await run(['tail', 'tcp://127.0.0.1:1'])).stderr).toMatch(/channel's name is missing/);
  });

  it('ls: the channels, filtered by authorize; --json; --auth reaches authenticate; a refused one exits 1', async () => {
    const { exporter: e, url } = await serve({
      authenticate: (a) => (a as { user?: string })?.user ?? false,
      authorize: (c, name) => name !== 'admin' || c.identity === 'root',
    });
    exportChannel(e, 'jobs', 'send');
    exportChannel(e, 'results', 'recv');
    exportChannel(e, 'admin', 'send');
    const table = await run(['ls', url, '--auth', '{"user":"ada"}']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n').map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['CHANNEL DIR', 'jobs send', 'results recv', '']);
    const json = await run(['ls', url, '--json'], '', { RX_NETCHAN_AUTH: '{"user":"root"}' });
    expect(json.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { name: 'admin', dir: 'send' },
      { name: 'jobs', dir: 'send' },
      { name: 'results', dir: 'recv' },
    ]);
    const refused = await run(['ls', url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^rx-netchan ls: EAUTH /);
  });

  it('tail --count n --json: prints n values as they arrive and leaves the rest in the queue', async () => {
    const { exporter: e, url } = await serve();
    const jobs = exportChannel<unknown>(e, 'jobs', 'send');
    for (const n of range(10)) jobs.next({ n, big: BigInt(n) * 10n ** 20n, bytes: new Uint8Array([n]), tags: new Set(['a']) });
    const r = await run(['tail', url, 'jobs', '--count', '3', '--json']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual(
      range(3).map((n) => ({ n, big: String(BigInt(n) * 10n ** 20n), bytes: Buffer.from([n]).toString('base64'), tags: ['a'] })),
    );
    expect(jobs.pending).toBe(7); // count-limited: the exporter never handed it more
    const human = await run(['tail', url, 'jobs', '--count', '1']);
    expect(human.stdout.trim()).toBe("{ n: 3, big: 300000000000000000000n, bytes: Uint8Array(1) [ 3 ], tags: Set(1) { 'a' } }");
  });

  it('tail over ws://, and an unknown channel exits 1 with ENOCHAN', async () => {
    const { exporter: e, url } = await serve({}, 'ws');
    const jobs = exportChannel<string>(e, 'jobs', 'send');
    jobs.next('over a websocket');
    const r = await run(['tail', url, 'jobs', '--count', '1', '--json']);
    expect(r.stdout).toBe('"over a websocket"\n');
    const missing = await run(['tail', url, 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ENOCHAN .*"nope"/);
  });

  it('send: NDJSON from stdin, paced by the window, every line delivered in order before it exits', async () => {
    const { exporter: e, url } = await serve();
    const inbox = record(exportChannel<unknown>(e, 'inbox', 'recv', { keepOpen: true }));
    const input = range(2_000).map((n) => JSON.stringify({ n, text: `line ${n}` })).join('\n') + '\n';
    const r = await run(['send', url, 'inbox', '--size', '16'], input);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('sent 2,000 value(s) to "inbox"; every one acknowledged\n');
    expect(inbox.values).toEqual(range(2_000).map((n) => ({ n, text: `line ${n}` }))); // all there when it exited: drained
  });

  it('send: a line that is not JSON stops it (exit 1, naming the line); what came before is delivered', async () => {
    const { exporter: e, url } = await serve();
    const inbox = record(exportChannel<unknown>(e, 'inbox', 'recv', { keepOpen: true }));
    const r = await run(['send', url, 'inbox'], '1\n"two"\n{three\n4\n');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/EINVAL stdin line 3: not JSON/);
    expect(inbox.values).toEqual([1, 'two']);
    const missing = await run(['send', url, 'nope'], '1\n');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ENOCHAN/);
  });

  it('stat: a table of channels and connections, refreshed; only with remoteMetrics', async () => {
    const { exporter: e, url } = await serve({ remoteMetrics: true, authenticate: () => 'operator' });
    const jobs = exportChannel<number>(e, 'work', 'send');
    exportChannel<number>(e, 'results', 'recv');
    for (const n of range(5)) jobs.next(n);
    const r = await run(['stat', url, '--count', '2', '--interval', '100']);
    expect(r.code).toBe(0);
    const screens = r.stdout.trim().split(/\n\n(?=rx-netchan stat)/);
    expect(screens).toHaveLength(2);
    const first = screens[0]!.split('\n');
    expect(first[0]).toMatch(new RegExp(`^rx-netchan stat ${url.replace(/[/.]/g, '\\$&')}  exporter ${e.instance}  1 client\\(s\\), 2 channel\\(s\\)`));
    expect(first[2]).toMatch(/^CHANNEL\s+DIR\s+BINDINGS\s+WINDOW\s+IN FLIGHT\s+QUEUE\s+RATE\/s\s+ACKED\s+BYTES\s+ERRORS$/);
    expect(first.find((l) => l.startsWith('work'))).toMatch(/^work\s+send\s+0\s+0\s+0\s+5\s+-\s+0\s+0 B\s+0$/);
    expect(first.find((l) => l.startsWith('CLIENT'))).toMatch(/REMOTE\s+STATE\s+UP\s+IDENTITY\s+BINDINGS\s+IN\/s\s+OUT\/s\s+IN FLIGHT\s+RTT/);
    expect(first.at(-1)).toMatch(/^[0-9a-f]{8}\s+tcp:\/\/127\.0\.0\.1:\d+\s+open\s+0s\s+operator\s+0\s+-\s+-\s+0\s+-$/);
    expect(screens[1]!.split('\n').find((l) => l.startsWith('work'))).toMatch(/^work\s+send\s+0\s+0\s+0\s+5\s+0\s+0/); // a rate now
    expect(screens[1]!.split('\n').at(-1)).toMatch(/\s+0\s+0\s+0\s+[\d.]+ ms$/); // rates, and the round trip the first snapshot's PING measured
    const off = await serve();
    const refused = await run(['stat', off.url]);
    await off.exporter.close();
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/EAUTH .*remoteMetrics: false/);
  });

  it('TLS: --ca trusts the exporter; without it the connection fails (exit 1)', async () => {
    const { exporter: e, url } = await serve({ transport: { key: readFileSync(key), cert: readFileSync(cert) } }, 'tls');
    exportChannel(e, 'secure', 'send');
    const ok = await run(['ls', url, '--ca', cert, '--json']);
    expect(ok.stdout).toBe('{"name":"secure","dir":"send"}\n');
    const untrusted = await run(['ls', url, '--timeout', '3000']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/ECLOSED .*(self[- ]signed|certificate)/i);
    const insecure = await run(['ls', url, '--insecure', '--json']);
    expect(insecure.code).toBe(0);
  });
});
