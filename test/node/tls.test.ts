import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { Exporter, Importer, exportChannel, importChannel } from '../../src/index.js';
import '../../src/node.js';
import type { TlsDialConfig, TlsListenConfig } from '../../src/node/tls.js';
import { activeHandles, handleBaseline } from '../helpers/leaks.js';
import { within } from '../helpers/async.js';

const key = readFileSync(new URL('../fixtures/tls-key.pem', import.meta.url));
const cert = readFileSync(new URL('../fixtures/tls-cert.pem', import.meta.url));
const fingerprint = new X509Certificate(cert).fingerprint256;

// Node warns once per process; collect from the start so no dial in this file can hide one.
const warnings: Error[] = [];
process.on('warning', (w) => warnings.push(w));

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

  it('passes every tls.connect option through: a checkServerIdentity that rejects fails the connection with its error', async () => {
    const exporter = new Exporter({ transport: { key, cert } });
    const { url } = await exporter.listen('tls://127.0.0.1:0');
    const calls: Array<[string, string]> = [];
    const pinned: TlsDialConfig = {
      ca: cert,
      checkServerIdentity: (host: string, peer: PeerCertificate) => {
        calls.push([host, peer.fingerprint256]);
        return new Error('certificate is not the pinned one');
      },
    };
    const importer = Importer.connect(url, { transport: pinned });
    const values = importChannel<string>(importer, 'out', 'recv');
    const err = await within(firstValueFrom(importer.errors$), 5_000, 'the refused handshake');
    expect(calls).toEqual([['127.0.0.1', fingerprint]]);
    expect(err.code).toBe('ECLOSED');
    expect(err.message).toContain('certificate is not the pinned one');
    expect((err.cause as Error).message).toBe('certificate is not the pinned one');
    await expect(firstValueFrom(values)).rejects.toMatchObject({ code: 'ECLOSED' });
    await importer.close();
    await exporter.close();
  });

  it('a checkServerIdentity that accepts the pinned certificate connects', async () => {
    const exporter = new Exporter({ transport: { key, cert } });
    exportChannel<string>(exporter, 'out', 'send').next('pinned');
    const { url } = await exporter.listen('tls://127.0.0.1:0');
    const pin = (_host: string, peer: PeerCertificate) => (peer.fingerprint256 === fingerprint ? undefined : new Error('pin mismatch'));
    const importer = Importer.connect(url, { transport: { ca: cert, checkServerIdentity: pin } satisfies TlsDialConfig });
    expect(await firstValueFrom(importChannel<string>(importer, 'out', 'recv'))).toBe('pinned');
    await importer.close();
    await exporter.close();
  });

  it('passes every tls.createServer option through (SNICallback), and the client its servername', async () => {
    const { createSecureContext } = await import('node:tls');
    const names: string[] = [];
    const server: TlsListenConfig = {
      key,
      cert,
      SNICallback: (name, done) => {
        names.push(name);
        done(null, createSecureContext({ key, cert }));
      },
    };
    const exporter = new Exporter({ transport: server });
    exportChannel<string>(exporter, 'out', 'send').next('sni');
    const { url } = await exporter.listen('tls://127.0.0.1:0');
    const checked: string[] = [];
    const importer = Importer.connect(url, {
      transport: { ca: cert, servername: 'netchan.test', checkServerIdentity: (host: string) => void checked.push(host) } satisfies TlsDialConfig,
    });
    expect(await firstValueFrom(importChannel<string>(importer, 'out', 'recv'))).toBe('sni');
    expect(names).toEqual(['netchan.test']);
    expect(checked).toEqual(['netchan.test']);
    await importer.close();
    await exporter.close();
  });

  it('client certificates: requestCert + rejectUnauthorized on the exporter, cert/key on the importer', async () => {
    const exporter = new Exporter({ transport: { key, cert, ca: cert, requestCert: true, rejectUnauthorized: true } satisfies TlsListenConfig });
    exportChannel<string>(exporter, 'out', 'send').next('mutual');
    const { url } = await exporter.listen('tls://127.0.0.1:0');
    const anonymous = Importer.connect(url, { transport: { ca: cert } });
    expect((await firstValueFrom(anonymous.errors$)).code).toBe('ECLOSED');
    await anonymous.close();
    const importer = Importer.connect(url, { transport: { ca: cert, key, cert } satisfies TlsDialConfig });
    expect(await firstValueFrom(importChannel<string>(importer, 'out', 'recv'))).toBe('mutual');
    await importer.close();
    await exporter.close();
  });

  it('no dial in this file printed a deprecation warning (DEP0123: servername set to an IP address)', async () => {
    const exporter = new Exporter({ transport: { key, cert } });
    exportChannel<number>(exporter, 'out', 'send').next(1);
    const { url } = await exporter.listen('tls://127.0.0.1:0');
    const importer = Importer.connect(url, { transport: { ca: cert } });
    expect(await firstValueFrom(importChannel<number>(importer, 'out', 'recv'))).toBe(1);
    await importer.close();
    await exporter.close();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    expect(warnings.map((w) => `${(w as { code?: string }).code ?? w.name}: ${w.message}`)).toEqual([]);
  });
});
