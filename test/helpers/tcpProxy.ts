import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 for fault tests: forwards each connection to
 * `targetPort`, and can silently drop what the server sends (answers lost in
 * the network) and cut every connection (a reset link).
 */
export class TcpProxy {
  /** While true, bytes from the server are discarded instead of forwarded. */
  dropDownstream = false;
  /** Connections accepted so far. */
  accepted = 0;
  private readonly pairs = new Set<[Socket, Socket]>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = createServer((client) => {
      proxy.accepted++;
      const upstream = connect(targetPort, '127.0.0.1');
      const pair: [Socket, Socket] = [client, upstream];
      proxy.pairs.add(pair);
      client.on('data', (d) => upstream.write(d));
      upstream.on('data', (d) => {
        if (!proxy.dropDownstream) client.write(d);
      });
      const end = () => {
        proxy.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('close', end).on('error', end);
      upstream.on('close', end).on('error', end);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Destroys every open connection (both sides), as a reset would. */
  cut(): void {
    for (const [a, b] of [...this.pairs]) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
