import { Exporter, Importer, memoryPipe, type Connection, type ConnectionHandler, type ExporterConfig, type ImporterConfig } from '../../src/index.js';
import { dialTcp, SocketConnection } from '../../src/node.js';
import { activeHandles, handleBaseline } from './leaks.js';
import { cutWebSocket, WS_TRANSPORT_DEF } from './ws.js';

/**
 * One importer on a transport, plus a way to cut its connection abruptly
 * (no BYE: the exporter sees a drop, as when a process dies or a cable is pulled).
 */
export interface ImporterLink {
  importer: Importer;
  /** Drops the connection under the importer without a goodbye. */
  cut(): void;
}

/** An exporter served on one transport, and an importer connected to it. */
export interface TransportPair extends ImporterLink {
  readonly transport: TransportName;
  exporter: Exporter;
  /** Connects one more importer to the same exporter. */
  connect(config?: ImporterConfig): ImporterLink;
  /** Closes every importer made here and the exporter; resolves once all handles are released. */
  close(): Promise<void>;
}

/**
 * How a transport serves an exporter and dials it. To add one (WebSocket, say),
 * add an entry: `serve` starts the server side, `dial` returns a fresh client
 * {@link Connection} to it. Everything else in the matrix is transport-agnostic.
 */
export interface TransportDef {
  /** Starts serving `exporter`; resolves with a dialer for new client connections. */
  serve(exporter: Exporter): Promise<() => Connection>;
}

export const TRANSPORT_DEFS = {
  memory: {
    async serve(exporter) {
      return () => {
        const [a, b] = memoryPipe();
        exporter.serveConnection(a);
        return b;
      };
    },
  },
  tcp: {
    async serve(exporter) {
      const { url } = await exporter.listen('tcp://127.0.0.1:0');
      return () => dialTcp(new URL(url));
    },
  },
  ws: WS_TRANSPORT_DEF,
} satisfies Record<string, TransportDef>;

export type TransportName = keyof typeof TRANSPORT_DEFS;

/** Every transport the matrix runs on: `describe.each(TRANSPORTS)`. */
export const TRANSPORTS = Object.keys(TRANSPORT_DEFS) as TransportName[];

/** Transports that go through the OS (handles to check for leaks). */
export const NETWORK_TRANSPORTS: ReadonlySet<TransportName> = new Set<TransportName>(['tcp', 'ws']);

/**
 * Wraps a client connection so a test can cut it: the importer sees the link
 * fail (ECLOSED) and the exporter sees the connection end without BYE.
 */
class CuttableConnection implements Connection {
  constructor(private readonly inner: Connection) {}
  get remote(): string {
    return this.inner.remote;
  }
  get keepalive(): boolean {
    return this.inner.keepalive;
  }
  get framing(): Connection['framing'] {
    return this.inner.framing;
  }
  get bufferedBytes(): number | undefined {
    return this.inner.bufferedBytes;
  }
  start(handler: ConnectionHandler): void {
    this.inner.start(handler);
  }
  write(chunk: Uint8Array): boolean | void {
    return this.inner.write(chunk);
  }
  // Forwarded, so the TCP tests take the same cork/zero-copy write path as a real importer.
  flush(): void {
    this.inner.flush?.();
  }
  close(reason?: Parameters<Connection['close']>[0]): void {
    this.inner.close(reason);
  }
  destroy(error?: Error): void {
    if (this.inner.destroy) this.inner.destroy(error);
    else this.inner.close();
  }
  cut(): void {
    if (cutWebSocket(this.inner)) return;
    if (this.inner instanceof SocketConnection) {
      // A real drop: RST-like destroy, nothing flushed.
      this.inner.raw.destroy();
    } else {
      this.inner.close();
    }
  }
}

/**
 * Starts an exporter on `name` and connects one importer to it.
 * `close()` closes everything made here and, on network transports, checks that
 * no socket or timer is left behind (it throws if one is).
 */
export async function openPair(
  name: TransportName,
  config: {
    exporter?: ExporterConfig;
    importer?: ImporterConfig;
    /** Check for leaked handles in close(). Defaults to true; turn off for a pair opened while another is open (its baseline covers both). */
    checkLeaks?: boolean;
  } = {},
): Promise<TransportPair> {
  const baseline = handleBaseline();
  const exporter = new Exporter(config.exporter);
  const dial = await TRANSPORT_DEFS[name].serve(exporter);
  const importers: Importer[] = [];
  const connect = (cfg: ImporterConfig = config.importer ?? {}): ImporterLink => {
    // A dialer, so an importer with `reconnect` can redial; cut() drops its current connection.
    let conn: CuttableConnection | null = null;
    const importer = new Importer(() => (conn = new CuttableConnection(dial())), cfg);
    importers.push(importer);
    return { importer, cut: () => conn?.cut() };
  };
  const first = connect();
  let closed: Promise<void> | null = null;
  return {
    transport: name,
    exporter,
    importer: first.importer,
    cut: first.cut,
    connect,
    close() {
      closed ??= (async () => {
        await Promise.all(importers.map((i) => i.close()));
        await exporter.close();
        if (NETWORK_TRANSPORTS.has(name) && config.checkLeaks !== false) {
          const left = await settledHandles(baseline);
          if (left.length > 0) throw new Error(`${name}: handles left after close(): ${left.join(', ')}`);
        }
      })();
      return closed;
    },
  };
}

/**
 * {@link activeHandles}, asked again a few times over ~300 ms while anything is
 * left. The test runner's own worker messaging arms short timers now and then,
 * which would otherwise make a leak check flaky; a real leak (a socket, the 2 s
 * close timer, a 15 s keepalive) is still there after the wait.
 */
export async function settledHandles(baseline: string[]): Promise<string[]> {
  let left = await activeHandles(baseline);
  for (let i = 0; i < 15 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
    left = await activeHandles(baseline);
  }
  return left;
}
