// One command: starts the server (a child process), runs the client against it
// over TCP, and exits with the remote command's status.
//
//   node examples/libchan/run.mjs sh -c 'echo hello; echo oops >&2; exit 3'
//   echo piped | node examples/libchan/run.mjs tr a-z A-Z
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const args = process.argv.slice(2);
if (args.length === 0) args.push('sh', '-c', 'echo hello from $(hostname); echo "and from stderr" >&2; exit 3');

const server = spawn(process.execPath, [here('./server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const { listening } = await new Promise((resolve, reject) => {
  createInterface({ input: server.stdout }).once('line', (line) => resolve(JSON.parse(line)));
  server.once('exit', (code) => reject(new Error(`server exited (${code})`)));
});
const client = spawn(process.execPath, [here('./client.mjs'), listening, ...args], { stdio: 'inherit' });
const code = await new Promise((resolve) => client.on('exit', (c) => resolve(c ?? 1)));
server.kill('SIGTERM');
process.exit(code);
