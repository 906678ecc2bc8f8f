import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, stopAllNatsServers, type NatsServer } from '../helpers/natsServer.js';
import { closeAllClients, natsClient } from '../helpers/natsClients.js';
import { within } from '../helpers/async.js';
import { uniqueChannel } from '../helpers/natsChannel.js';
import { ChannelRegistry } from '../../src/nats/ChannelRegistry.js';
import { channelNames } from '../../src/nats/channelNames.js';

let server: NatsServer;
beforeAll(async () => {
  server = await startNatsServer();
});
afterAll(async () => {
  await closeAllClients();
  await stopAllNatsServers();
});

/** Waits until the server no longer lists a client connection named `name`. */
async function serverForgot(name: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const connz = (await server.monitor('/connz')) as { connections?: Array<{ name?: string }> };
    if (!connz.connections?.some((c) => c.name === name)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`the server still lists ${name}`);
}

describe('ChannelRegistry', () => {
  it('answers ENOCHAN at once for a name nobody exports (no responders, not a timeout)', async () => {
    const c = await natsClient(server.url);
    // A 60 s timeout: only "no responders" can end the lookup within the test.
    const registry = new ChannelRegistry(c.nc, 60_000);
    const names = channelNames('netchan', uniqueChannel('nobody'));
    await expect(registry.lookup(names)).rejects.toMatchObject({ code: 'ENOCHAN', message: `no such channel: "${names.channel}"` });
    await expect(registry.checkImport(names, 'recv')).rejects.toMatchObject({ code: 'ENOCHAN' });
  });

  it('tells importers the direction, EDIR for the wrong one, and forgets an exporter that leaves or dies', async () => {
    const exp1 = await natsClient(server.url, 'exporter-1');
    const exp2 = await natsClient(server.url, 'exporter-2');
    const imp = await natsClient(server.url, 'importer');
    const names = channelNames('netchan', uniqueChannel('jobs'));
    const importer = new ChannelRegistry(imp.nc, 60_000);

    const unserve1 = await new ChannelRegistry(exp1.nc).serve(names, 'send');
    await new ChannelRegistry(exp2.nc).serve(names, 'send');
    expect(await importer.lookup(names)).toEqual({ dir: 'send', ready: true });
    await importer.checkImport(names, 'recv');
    await expect(importer.checkImport(names, 'send')).rejects.toMatchObject({
      code: 'EDIR',
      message: `wrong direction for channel "${names.channel}": it is exported for 'send', so import it with 'recv'`,
    });

    unserve1(); // one exporter unexports: the other still answers
    await exp1.nc.flush();
    expect(await importer.lookup(names)).toEqual({ dir: 'send', ready: true });
    await exp2.nc.close(); // the last one's connection ends: the name is gone
    // (Until the server has seen the connection end, a lookup goes to the dead exporter and times out.)
    await serverForgot('exporter-2');
    await expect(importer.lookup(names)).rejects.toMatchObject({ code: 'ENOCHAN' });
  });

  it('one answer per lookup however many exporters serve the name (queue group)', async () => {
    const names = channelNames('netchan', uniqueChannel('many'));
    const exporters = await Promise.all([1, 2, 3].map((i) => natsClient(server.url, `exporter-${i}`)));
    await Promise.all(exporters.map((e) => new ChannelRegistry(e.nc).serve(names, 'recv')));
    const imp = await natsClient(server.url);
    const answers = await imp.nc.requestMany(names.registry, undefined, { maxWait: 300, maxMessages: 10 });
    let n = 0;
    for await (const m of answers) {
      expect(JSON.parse(m.string())).toEqual({ v: 1, dir: 'recv', ready: true });
      n++;
    }
    expect(n).toBe(1);
  });

  it('an exporter still setting a channel up answers at once: imports wait for it to be ready, a wrong direction fails at once', async () => {
    const names = channelNames('netchan', uniqueChannel('setting-up'));
    const exp = await natsClient(server.url);
    const answering = new ChannelRegistry(exp.nc).answer(names, 'send');
    await exp.nc.flush();
    const imp = new ChannelRegistry((await natsClient(server.url)).nc);
    await expect(imp.checkImport(names, 'send')).rejects.toMatchObject({ code: 'EDIR' });
    let bound = false;
    const binding = imp.checkImport(names, 'recv').then(() => (bound = true));
    expect(await imp.lookup(names)).toEqual({ dir: 'send', ready: false });
    expect(bound).toBe(false);
    answering.ready();
    await within(binding, 2_000, 'the import binds once the exporter is ready');
    answering.stop();
  });
});
