import { readFileSync } from 'node:fs';
import { filter, firstValueFrom } from 'rxjs';
import { Importer } from '../endpoint/Importer.js';
import { NetchanError } from '../errors/NetchanError.js';
import type { CliOptions } from './args.js';

/** Connects to the exporter with the command line's credentials and TLS options; resolves once the connection is open. */
export async function connect(o: CliOptions): Promise<Importer> {
  const transport: Record<string, unknown> = {};
  if (o.ca !== undefined) transport['ca'] = readFileSync(o.ca);
  if (o.cert !== undefined) transport['cert'] = readFileSync(o.cert);
  if (o.key !== undefined) transport['key'] = readFileSync(o.key);
  if (o.servername !== undefined) transport['servername'] = o.servername;
  if (o.insecure) transport['rejectUnauthorized'] = false;
  // keepalive 0: a CLI's connection is short-lived, and a timer would only hold the process.
  const importer = Importer.connect(o.url, { auth: o.auth, transport, keepalive: 0, handshakeTimeout: o.timeout });
  let first: NetchanError | null = null;
  const errors = importer.errors$.subscribe((e) => (first ??= e));
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new NetchanError('ETIMEDOUT', `could not connect to ${o.url} within ${o.timeout} ms`)), o.timeout);
    });
    const state = await Promise.race([firstValueFrom(importer.state$.pipe(filter((s) => s === 'open' || s === 'closed'))), timeout]);
    if (state === 'closed') throw first ?? new NetchanError('ECLOSED', `could not connect to ${o.url}`);
  } catch (e) {
    errors.unsubscribe();
    await importer.close();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  errors.unsubscribe();
  return importer;
}
