import { parseArgs } from 'node:util';

export const USAGE = `Usage: rx-netchan <command> [options]

Commands:
  ls <url>                 the channels the exporter offers (filtered by its authorize hook)
  tail <url> <channel>     print values as they arrive. It takes them: on a work
                           queue it competes with the other receivers (use --count)
  send <url> <channel>     send NDJSON lines from stdin (one JSON value per line),
                           paced by the window; exits once all are acknowledged
  stat <url>               a live table of the exporter's connections and channels
                           (the exporter needs remoteMetrics: true)

URLs: tcp://host:port, tls://host:port, ws://host:port/path, wss://host:port/path

Options:
  --auth <value>           credentials for the exporter's authenticate hook: JSON if it
                           parses, else a string (default: $RX_NETCHAN_AUTH)
  --ca <file>              trust this CA certificate (PEM) for tls:// and wss://
  --cert <file>            client certificate (PEM), with --key
  --key <file>             client private key (PEM)
  --servername <name>      TLS server name (SNI) and the name the certificate must carry
  --insecure               do not verify the server's certificate
  --timeout <ms>           give up connecting after this long (default 10000)
  --size <n>               the window: values in flight at once (tail, send; default 64)
  --count <n>              tail: stop after n values; stat: stop after n refreshes
  --json                   ls, tail: one JSON document per line
  --interval <ms>          stat: refresh every ms (default 1000)
  -h, --help               this help
  -v, --version            the version
`;

export type Command = 'ls' | 'tail' | 'send' | 'stat';

export interface CliOptions {
  readonly command: Command;
  readonly url: string;
  readonly channel: string;
  readonly auth: unknown;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly servername?: string;
  readonly insecure: boolean;
  readonly timeout: number;
  readonly size: number;
  readonly count?: number;
  readonly json: boolean;
  readonly interval: number;
}

/** A mistake on the command line: usage is printed, exit code 2. */
export class UsageError extends Error {}

/** Parses argv (without node and the script); `'help'`/`'version'` for those flags. */
export function parseCli(argv: readonly string[], env: Record<string, string | undefined>): CliOptions | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        auth: { type: 'string' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        servername: { type: 'string' },
        insecure: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        size: { type: 'string' },
        count: { type: 'string' },
        json: { type: 'boolean', default: false },
        interval: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values: v, positionals: pos } = parsed;
  if (v.help) return 'help';
  if (v.version) return 'version';
  const [command, url, channel] = pos;
  if (command === undefined) throw new UsageError('no command');
  if (command !== 'ls' && command !== 'tail' && command !== 'send' && command !== 'stat') throw new UsageError(`unknown command: ${command}`);
  if (url === undefined) throw new UsageError(`${command}: the exporter's URL is missing`);
  const needsChannel = command === 'tail' || command === 'send';
  if (needsChannel && channel === undefined) throw new UsageError(`${command}: the channel's name is missing`);
  if (pos.length > (needsChannel ? 3 : 2)) throw new UsageError(`${command}: unexpected argument ${pos[needsChannel ? 3 : 2]}`);
  if (v.key !== undefined && v.cert === undefined) throw new UsageError('--key needs --cert');
  const auth = v.auth ?? env['RX_NETCHAN_AUTH'];
  return {
    command,
    url,
    channel: channel ?? '',
    auth: auth === undefined ? undefined : parseAuth(auth),
    ...(v.ca !== undefined ? { ca: v.ca } : {}),
    ...(v.cert !== undefined ? { cert: v.cert } : {}),
    ...(v.key !== undefined ? { key: v.key } : {}),
    ...(v.servername !== undefined ? { servername: v.servername } : {}),
    insecure: v.insecure === true,
    timeout: positive(v.timeout, 'timeout', 10_000),
    size: positive(v.size, 'size', 64),
    ...(v.count !== undefined ? { count: positive(v.count, 'count', 0) } : {}),
    json: v.json === true,
    interval: positive(v.interval, 'interval', 1_000),
  };
}

function parseAuth(s: string): unknown {
  try {
    return JSON.parse(s) as unknown;
  } catch {
    return s;
  }
}

function positive(s: string | undefined, name: string, fallback: number): number {
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got ${s}`);
  return n;
}
