import { isNetchanError } from '../errors/NetchanError.js';
import { parseCli, USAGE, UsageError } from './args.js';
import * as commands from './commands.js';
import { connect } from './connect.js';
import { VERSION } from './version.js';

/**
 * `rx-netchan <command>`: runs one command against an exporter and resolves
 * with the exit code (0 done, 1 failed, 2 a usage mistake).
 */
export async function main(argv: readonly string[], io: Omit<commands.Io, 'interrupted'> & { interrupted?: Promise<void> }, env: Record<string, string | undefined> = {}): Promise<number> {
  let o;
  try {
    o = parseCli(argv, env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr.write(`rx-netchan: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (o === 'help') {
    io.stdout.write(USAGE);
    return 0;
  }
  if (o === 'version') {
    io.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const full: commands.Io = { ...io, interrupted: io.interrupted ?? new Promise<void>(() => {}) };
  try {
    const importer = await connect(o);
    try {
      await commands[o.command](importer, o, full);
    } finally {
      await importer.close();
    }
    return 0;
  } catch (e) {
    const msg = isNetchanError(e) ? `${e.code} ${e.message}` : e instanceof Error ? e.message : String(e);
    io.stderr.write(`rx-netchan ${o.command}: ${msg}\n`);
    return 1;
  }
}
