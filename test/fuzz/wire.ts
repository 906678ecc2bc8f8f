// Frames as bytes, for peers that misbehave on purpose: any field may hold any
// value, and DATA carries raw MessagePack bytes (hostile ones included).
import { decode, encode } from '@msgpack/msgpack';

/** Frame type numbers (docs/PROTOCOL.md); frameLayouts.ts has the layouts. */
export const T = { Hello: 0, Open: 1, Data: 2, Ack: 3, End: 4, Cancel: 5, Error: 6, Ping: 7, Pong: 8, Bye: 9 } as const;

/** `u32be length` + `body`. `declared` overrides the length (a lie, or a frame over the limit). */
export function framed(body: Uint8Array, declared = body.length): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, declared >>> 0);
  out.set(body, 4);
  return out;
}

/** A frame whose body is the MessagePack array `fields` (any values, NaN and strings included). */
export function frame(fields: readonly unknown[]): Uint8Array {
  return framed(encode(fields));
}

/** A frame received from the endpoint under test. */
export interface Incoming {
  readonly type: number;
  /** Binding id (frames that have one). */
  readonly id: number;
  /** ACK's seq. */
  readonly seq: number;
  /** ERROR's code and message. */
  readonly code: string;
  readonly message: string;
  /** HELLO/OPEN fields, decoded. */
  readonly fields: unknown[];
  readonly size: number;
}

/**
 * Reads one frame body sent by the library. DATA values are not decoded (the
 * fake peers only count them); everything else is decoded in full.
 */
export function parseIncoming(body: Uint8Array): Incoming {
  const type = body[1] ?? -1;
  if (type === T.Data) return { type, id: readUint(body, 2), seq: 0, code: '', message: '', fields: [], size: body.length };
  const f = decode(body) as unknown[];
  const num = (v: unknown) => (typeof v === 'number' ? v : -1);
  return {
    type,
    id: num(f[1]),
    seq: type === T.Ack ? num(f[2]) : 0,
    code: type === T.Error ? String(f[2]) : '',
    message: type === T.Error ? String(f[3]) : '',
    fields: f,
    size: body.length,
  };
}

function readUint(b: Uint8Array, p: number): number {
  const m = b[p]!;
  if (m < 0x80) return m;
  const n = m === 0xcc ? 1 : m === 0xcd ? 2 : m === 0xce ? 4 : 8;
  let v = 0;
  for (let i = 1; i <= n; i++) v = v * 256 + b[p + i]!;
  return v;
}
