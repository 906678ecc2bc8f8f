import { inspect } from 'node:util';

/** A value as one line of JSON: bigints as strings, bytes as base64, Maps and Sets as objects and arrays. */
export function toJsonLine(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    if (v instanceof Map) return [...v.keys()].every((k) => typeof k === 'string') ? Object.fromEntries(v) : [...v];
    if (v instanceof Set) return [...v];
    if (v instanceof Error) return { name: v.name, message: v.message };
    return v;
  });
}

/** A value as a person reads it, on one line. */
export function toHumanLine(value: unknown, colors: boolean): string {
  return inspect(value, { depth: 8, colors, breakLength: Infinity, compact: true, maxArrayLength: 50, maxStringLength: 500 });
}

/** `12,345` */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `1.2 KiB`, `3.4 MiB` */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** `45s`, `12m03s`, `3h12m` */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Columns padded to their widest cell; a header ending in `>` is right-aligned (numbers). */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const right = header.map((h) => h.endsWith('>'));
  const names = header.map((h) => h.replace(/>$/, ''));
  const widths = names.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(names), ...rows.map(line)].join('\n');
}
