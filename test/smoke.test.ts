import { describe, expect, it } from 'vitest';
import { firstValueFrom, toArray, take, lastValueFrom } from 'rxjs';
import { Exporter, Importer, exportChannel, importChannel, memoryPipe } from '../src/index.js';

describe('smoke', () => {
  it('export send -> import recv', async () => {
    const exporter = new Exporter();
    const ch = exportChannel<number>(exporter, 'nums', 'send');
    const [a, b] = memoryPipe();
    exporter.serveConnection(a);
    const importer = new Importer(b);
    const got = firstValueFrom(importChannel<number>(importer, 'nums', 'recv', { size: 3 }).pipe(take(10), toArray()));
    for (let i = 0; i < 10; i++) ch.next(i);
    expect(await got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await lastValueFrom(exporter.drain(1000), { defaultValue: undefined });
    await importer.close();
    await exporter.close();
  });
  it('import send -> export recv', async () => {
    const exporter = new Exporter();
    const ch = exportChannel<string>(exporter, 'in', 'recv');
    const [a, b] = memoryPipe();
    exporter.serveConnection(a);
    const importer = new Importer(b);
    const got = firstValueFrom(ch.pipe(toArray()));
    const s = importChannel<string>(importer, 'in', 'send', { size: 2 });
    s.next('x'); s.next('y'); s.next('z'); s.complete();
    expect(await got).toEqual(['x', 'y', 'z']);
    await lastValueFrom(importer.drain(1000), { defaultValue: undefined });
    await importer.close();
    await exporter.close();
  });
});

import '../src/node.js';
import { activeHandles, handleBaseline } from './helpers/leaks.js';
describe('smoke tcp', () => {
  it('tcp both ways', async () => {
    const base = handleBaseline();
    const exporter = new Exporter();
    const ch = exportChannel<number>(exporter, 'nums', 'send');
    const { url } = await exporter.listen('tcp://127.0.0.1:0');
    const importer = Importer.connect(url);
    const got = firstValueFrom(importChannel<number>(importer, 'nums', 'recv', { size: 3 }).pipe(take(1000), toArray()));
    for (let i = 0; i < 1000; i++) ch.next(i);
    expect((await got).length).toBe(1000);
    await lastValueFrom(exporter.drain(1000), { defaultValue: undefined });
    await importer.close();
    await exporter.close();
    expect(await activeHandles(base)).toEqual([]);
  });
});

describe('smoke: errors reach late binds', () => {
  it('an import that binds after the channel errored gets the error', async () => {
    const exporter = new Exporter();
    const ch = exportChannel<number>(exporter, 'e', 'send');
    ch.error(new Error('boom'));
    const [a, b] = memoryPipe();
    exporter.serveConnection(a);
    const importer = new Importer(b);
    const err = await firstValueFrom(importChannel<number>(importer, 'e', 'recv')).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'NetchanError', code: 'EREMOTE' });
    expect((err as Error).message).toContain('boom');
    await importer.close();
    await exporter.close();
  });
});
