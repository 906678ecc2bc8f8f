import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { Exporter, Importer, exportChannel, importChannel } from '../../src/index.js';
import '../../src/node.js';
import { activeHandles, handleBaseline } from '../helpers/leaks.js';

const key = readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url));
const cert = readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url));

describe('tls://', () => {
  it('carries channels both ways over a real TLS socket and releases it', async () => {
    const base = handleBaseline();
    const exporter = new Exporter({ transport: { key, cert } });
    const out = exportChannel<string>(exporter, 'out', 'send');
    const back = exportChannel<string>(exporter, 'back', 'recv');
    const { url } = await exporter.listen('tls://127.0.0.1:0');
    expect(url).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    const importer = Importer.connect(url, { transport: { ca: cert } });
    const got = firstValueFrom(importChannel<string>(importer, 'out', 'recv').pipe(take(3), toArray()));
    const backGot = firstValueFrom(back.pipe(toArray()));
    out.next('a'); out.next('b'); out.next('c');
    expect(await got).toEqual(['a', 'b', 'c']);
    const s = importChannel<string>(importer, 'back', 'send');
    s.next('z');
    s.complete();
    expect(await backGot).toEqual(['z']);
    await lastValueFrom(importer.drain(2000), { defaultValue: undefined });
    await importer.close();
    await exporter.close();
    expect(await activeHandles(base)).toEqual([]);
  });

  it('refuses a server certificate it does not trust: ECLOSED on errors$', async () => {
    const exporter = new Exporter({ transport: { key, cert } });
    const { url } = await exporter.listen('tls://127.0.0.1:0');
    const importer = Importer.connect(url);
    const err = await firstValueFrom(importer.errors$);
    expect(err.code).toBe('ECLOSED');
    expect(err.message).toMatch(/certificate/i);
    await importer.close();
    await exporter.close();
  });
});
