// examples/libchan run end to end: two processes over TCP, channels inside the
// command value, the remote status as the client's exit code.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUN = fileURLToPath(new URL('../../examples/libchan/run.mjs', import.meta.url));

function run(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

describe('examples/libchan (remote exec with channels inside the command)', () => {
  beforeAll(() => {
    // The example imports the built package (as a user's program would).
    if (!existsSync(`${ROOT}dist/index.js`)) execFileSync('npx', ['tsup', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  });

  it('streams stdout and stderr back and exits with the remote status', async () => {
    const r = await run(['sh', '-c', 'echo hello; echo oops >&2; exit 3']);
    expect(r).toEqual({ code: 3, stdout: 'hello\n', stderr: 'oops\n' });
  });

  it('streams this process’s stdin to the remote command', async () => {
    const r = await run(['tr', 'a-z', 'A-Z'], 'piped input\nsecond line\n');
    expect(r).toEqual({ code: 0, stdout: 'PIPED INPUT\nSECOND LINE\n', stderr: '' });
  });

  it('carries 4 MB of output intact', async () => {
    const r = await run(['sh', '-c', 'head -c 4000000 /dev/zero | tr "\\\\0" x']);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBe(4_000_000);
    expect(/^x+$/.test(r.stdout)).toBe(true);
  });

  it('a command that cannot start reports status 127', async () => {
    const r = await run(['/no/such/program']);
    expect(r.code).toBe(127);
    expect(r.stderr).toMatch(/remote: .*ENOENT/);
  });
});
