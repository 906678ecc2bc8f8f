// The libchan remote-exec server, in rx-netchan: listens on TCP, takes commands
// on the 'commands' channel and runs each with child_process.spawn. Each command
// carries its own channels: stdin (an Observable end: the server reads it),
// stdout and stderr (byte-stream ends: the server writes into them), and status
// (an end for the one reply: the exit code).
//
//   node examples/libchan/server.mjs [tcp://127.0.0.1:0]   prints {"listening":"tcp://…"}
import { spawn } from 'node:child_process';
import { Exporter, exportChannel, streamBytes } from 'rx-netchan';
import 'rx-netchan/node';

const exporter = new Exporter();
const commands = exportChannel(exporter, 'commands', 'recv', { keepOpen: true });

commands.subscribe(({ cmd, args, stdin, stdout, stderr, status }) => {
  let child;
  try {
    child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    status.next({ status: 127, error: e.message });
    status.complete();
    return;
  }
  // The client's stdin, chunk by chunk, into the child (acknowledged only once written: backpressure).
  stdin.subscribe({
    next: (d) => {
      if (child.stdin.write(d.value)) d.ack();
      else child.stdin.once('drain', () => d.ack());
    },
    complete: () => child.stdin.end(),
    error: () => child.stdin.destroy(),
  });
  child.stdin.on('error', () => {}); // the child may exit before reading everything
  // The child's output, read only as fast as the client acknowledges.
  const out = lastOf(streamBytes(stdout, child.stdout));
  const err = lastOf(streamBytes(stderr, child.stderr));
  const exited = new Promise((resolve) => {
    child.on('error', (e) => resolve({ status: 127, error: e.message }));
    child.on('close', (code, signal) => resolve({ status: code ?? 128, signal: signal ?? undefined }));
  });
  Promise.allSettled([out, err]).then(async () => {
    status.next(await exited);
    status.complete();
  });
});

function lastOf(observable) {
  return new Promise((resolve, reject) => observable.subscribe({ error: reject, complete: resolve }));
}

const { url } = await exporter.listen(process.argv[2] ?? 'tcp://127.0.0.1:0');
console.log(JSON.stringify({ listening: url }));
process.on('SIGTERM', () => void exporter.close().then(() => process.exit(0)));
process.on('SIGINT', () => void exporter.close().then(() => process.exit(0)));
