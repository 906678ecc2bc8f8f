// Starting nats-server for the bench: where it is installed, and a free loopback port for it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/** The nats-server binary (Debian installs it in /usr/sbin), or null. */
export function findNatsServer() {
  for (const p of ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server']) if (fs.existsSync(p)) return p;
  try {
    return execFileSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export async function freePort() {
  const s = net.createServer();
  await new Promise((res) => s.listen(0, '127.0.0.1', res));
  const { port } = s.address();
  await new Promise((res) => s.close(res));
  return port;
}
