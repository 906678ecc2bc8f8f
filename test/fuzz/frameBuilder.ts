// Builds a frame from its layout in frameLayouts.ts: each field is filled by
// its role from what the fake peer knows (the binding, what it sent and
// received), so a field added to a layout is filled without touching the
// peers. `override` puts any value in any field (out-of-range numbers).
import { encode } from '@msgpack/msgpack';
import { layout, PROTOCOL_VERSION, type FieldRole } from './frameLayouts.js';
import { framed } from './wire.js';

/** What a peer knows when it writes a frame. */
export interface FrameContext {
  /** The binding the frame is about (0: the connection, for ERROR). */
  readonly id?: number;
  /** OPEN: the channel, the direction as the importer names it, the window, the count. */
  readonly channel?: string;
  readonly dir?: number;
  readonly window?: number;
  readonly count?: number;
  /** Values received on the binding (what an ACK or a final ack acknowledges). */
  readonly received?: number;
  /** Values sent on the binding (what an END with a total announces). */
  readonly sent?: number;
  readonly code?: string;
  readonly text?: string;
  /** HELLO options. */
  readonly options?: Record<string, unknown>;
}

/** The value a role takes from `ctx` (a neutral one when the peer knows nothing better). */
export function fill(role: FieldRole, ctx: FrameContext): unknown {
  switch (role) {
    case 'version':
      return PROTOCOL_VERSION;
    case 'options':
      return ctx.options ?? {};
    case 'newId':
    case 'bindingId':
      return ctx.id ?? 1;
    case 'bindingOrConnection':
      return ctx.id ?? 0;
    case 'channel':
      return ctx.channel ?? '';
    case 'dir':
      return ctx.dir ?? 0;
    case 'window':
      return ctx.window ?? 1;
    case 'count':
      return ctx.count ?? -1;
    case 'ackSeq':
      return ctx.received ?? 0;
    case 'sentTotal':
      return ctx.sent ?? 0;
    case 'errorCode':
      return ctx.code ?? 'EPROTO';
    case 'text':
      return ctx.text ?? '';
    case 'frameLimit':
      return 16 * 1024 * 1024;
    case 'keepalive':
      return 0;
    case 'uint':
    case 'int':
      return 0;
    case 'string':
      return '';
    case 'auth':
    case 'any':
    case 'value':
      return null;
  }
}

/** The roles {@link fill} knows (a layout with any other role fails grammar.test.ts). */
export const FILLABLE: ReadonlySet<FieldRole> = new Set<FieldRole>([
  'version', 'options', 'newId', 'bindingId', 'bindingOrConnection', 'channel', 'dir', 'window', 'count', 'value',
  'ackSeq', 'sentTotal', 'errorCode', 'text', 'frameLimit', 'keepalive', 'auth', 'uint', 'int', 'string', 'any',
]);

/** The fields of frame `name` as an array, `[type, …]`, filled from `ctx`, with `override` on top. */
export function frameFields(name: string, ctx: FrameContext = {}, override: Record<string, unknown> = {}): unknown[] {
  const l = layout(name);
  return [l.type, ...l.fields.map((f) => (f.name in override ? override[f.name] : fill(f.role, ctx)))];
}

/** Frame `name` as bytes (length prefix included). */
export function buildFrame(name: string, ctx: FrameContext = {}, override: Record<string, unknown> = {}): Uint8Array {
  return framed(encode(frameFields(name, ctx, override)));
}

/**
 * Frame `name` with some fields given as raw MessagePack bytes (`raw`): a
 * hostile DATA value or HELLO options that no encoder would write.
 */
export function buildFrameRaw(name: string, ctx: FrameContext, raw: Record<string, Uint8Array>, override: Record<string, unknown> = {}): Uint8Array {
  const l = layout(name);
  const parts: Uint8Array[] = [encode(l.type)];
  for (const f of l.fields) parts.push(raw[f.name] ?? encode(f.name in override ? override[f.name] : fill(f.role, ctx)));
  const n = 1 + l.fields.length;
  const head = n < 16 ? Uint8Array.of(0x90 | n) : Uint8Array.of(0xdc, n >> 8, n & 0xff);
  const body = new Uint8Array(head.length + parts.reduce((s, p) => s + p.length, 0));
  body.set(head);
  let at = head.length;
  for (const p of parts) {
    body.set(p, at);
    at += p.length;
  }
  return framed(body);
}

/** DATA for binding `id` carrying `value`, raw MessagePack bytes. */
export function dataFrame(id: number, value: Uint8Array): Uint8Array {
  return buildFrameRaw('DATA', { id }, { value });
}
