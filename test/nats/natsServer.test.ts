import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { liveNatsServerPids, startNatsServer, stopAllNatsServers } from '../helpers/natsServer.js';
import { activeHandles, handleBaseline } from '../helpers/leaks.js';

afterAll(stopAllNatsServers);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('test/helpers/natsServer', () => {
  it('starts a JetStream server on a free port, restarts it on the same port and store, and leaves nothing behind', async () => {
    const base = handleBaseline();
    const server = await startNatsServer();
    expect(server.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    const nc = await connect({ servers: server.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'kept', subjects: ['kept'] });
    await nc.close();

    const pid = server.pid!;
    await server.restart();
    expect(server.pid).not.toBe(pid);
    expect(alive(pid)).toBe(false);
    const again = await connect({ servers: server.url });
    // The store survived the SIGKILL and the restart.
    expect((await (await jetstreamManager(again)).streams.info('kept')).config.name).toBe('kept');
    await again.close();

    const { dir } = server;
    const last = server.pid!;
    await server.stop();
    expect(alive(last)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(liveNatsServerPids()).toEqual([]);
    expect(await activeHandles(base)).toEqual([]);
  });
});
