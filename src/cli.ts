#!/usr/bin/env node
// The rx-netchan command line (`npx rx-netchan …`): ls, tail, send, stat. See `rx-netchan --help`.
import './node.js';
import { main } from './cli/main.js';

const interrupted = new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
  // `rx-netchan tail … | head`: the reader went away.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') resolve();
  });
});

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, interrupted }, process.env).then(
  (code) => {
    process.exitCode = code;
    // Nothing is left running once a command is done; signal handlers must not keep a finished process up.
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
  },
  (e: unknown) => {
    process.stderr.write(`rx-netchan: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
