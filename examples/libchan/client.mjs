// The libchan remote-exec client, in rx-netchan: sends one command with its own
// channels inside the value (stdin, stdout, stderr, status), streams this
// process's stdin to the remote command, its output back to this process's
// stdout and stderr, and exits with the remote status.
//
//   node examples/libchan/client.mjs tcp://127.0.0.1:7000 ls -la /tmp
import { Importer, channelPair, importChannel, streamBytes } from 'rx-netchan';
import { toReadable } from 'rx-netchan/node';

const [url, cmd, ...args] = process.argv.slice(2);
if (!url || !cmd) {
  console.error('usage: client.mjs <url> <command> [args…]');
  process.exit(2);
}
const importer = Importer.connect(url);
const commands = importChannel(importer, 'commands', 'send');

// Each pair: one end stays here, the other travels inside the command.
const [stdinEnd, stdinSend] = channelPair({ ack: 'manual', name: 'stdin' }); // the server reads stdinEnd
const [stdout, stdoutEnd] = channelPair({ ack: 'manual', name: 'stdout' }); // the server writes stdoutEnd
const [stderr, stderrEnd] = channelPair({ ack: 'manual', name: 'stderr' });
const [status, statusEnd] = channelPair({ name: 'status' });

commands.next({ cmd, args, stdin: stdinEnd, stdout: stdoutEnd, stderr: stderrEnd, status: statusEnd });

// Our stdin to the remote command (a TTY gives none: send an empty stream).
streamBytes(stdinSend, process.stdin.isTTY ? (async function* () {})() : process.stdin).subscribe({ error: () => {} });
const piped = (deliveries, target) =>
  new Promise((resolve) => toReadable(deliveries).on('end', resolve).on('error', resolve).pipe(target, { end: false }));
const outputs = Promise.all([piped(stdout, process.stdout), piped(stderr, process.stderr)]);

status.subscribe({
  next: async (result) => {
    await outputs;
    if (result.error) console.error(`remote: ${result.error}`);
    // Let the process end by itself: process.exit() could cut off output still being written to a pipe.
    process.exitCode = result.status;
    await importer.close();
  },
  error: (e) => {
    console.error(`${e.code}: ${e.message}`);
    process.exitCode = 1;
    void importer.close();
  },
});
