// THE table of wire frames the fuzzer builds, after docs/PROTOCOL.md. It is
// data: the generators (frameArbitraries.ts, peerPlan.ts) fill each field by its
// `role`, and mutate it out of its `domain` to test `invalid`. When the
// protocol changes (version 2: HELLO gains fields, END gains a total, CANCEL a
// final ack, new frame types), edit this file; a new field needs a role the
// generators know (see FieldRole) or one of the generic roles ('uint', 'int',
// 'string', 'any').

/** What a receiver must do with a frame whose field is outside its domain. */
export type Reaction =
  /** ERROR [6, 0, code, …] and close: a protocol violation. */
  | 'connection'
  /** ERROR [6, id, code, …] for that binding only; the connection goes on. */
  | 'binding'
  /** Either of the above, but never silent acceptance. */
  | 'refuse'
  /** Anything (accept, ignore, refuse): the spec leaves it open. */
  | 'lenient';

/** The allowed values of a numeric field (integers unless `integer: false`). */
export interface NumberDomain {
  readonly min: number;
  readonly max: number;
  /** Defaults to true: floats, NaN and ±Infinity are out of the domain. */
  readonly integer?: boolean;
  /** Only these values (HELLO's version). */
  readonly oneOf?: readonly number[];
}

/**
 * How the generators fill a field:
 * - `version`: the protocol version; `options`: a map of `entries`;
 * - `newId`: OPEN's id (greater than every id opened before);
 * - `bindingId`: an open binding's id; `bindingOrConnection`: that, or 0 (ERROR);
 * - `channel`: a channel name; `dir`: 0 (recv) or 1 (send), as the importer names it;
 * - `window`: OPEN's size; `count`: OPEN's count (-1 unbounded);
 * - `value`: a DATA value (any MessagePack, hostile ones included);
 * - `ackSeq`: a cumulative acknowledgement (≤ values received);
 * - `sentTotal`: values sent on the binding (for an END that carries its total);
 * - `errorCode`, `text`: strings; `frameLimit`, `keepalive`, `auth`: HELLO options;
 * - `uint`, `int`, `string`, `any`: generic, for fields the generators do not model yet.
 */
export type FieldRole =
  | 'version'
  | 'options'
  | 'newId'
  | 'bindingId'
  | 'bindingOrConnection'
  | 'channel'
  | 'dir'
  | 'window'
  | 'count'
  | 'value'
  | 'ackSeq'
  | 'sentTotal'
  | 'errorCode'
  | 'text'
  | 'frameLimit'
  | 'keepalive'
  | 'auth'
  | 'uint'
  | 'int'
  | 'string'
  | 'any';

export interface FieldLayout {
  readonly name: string;
  readonly role: FieldRole;
  /** For numeric fields: what is in range. Absent: not a number. */
  readonly domain?: NumberDomain;
  /** What the receiver must do when the field is out of its domain or of the wrong type. */
  readonly invalid: Reaction;
  /** An option that may be left out (HELLO options). */
  readonly optional?: boolean;
  /** For `options`: the map's entries. */
  readonly entries?: readonly FieldLayout[];
}

/** Who may send the frame, and on which side of a binding. */
export type Sender = 'importer' | 'exporter' | 'both';
export type BindingSide = 'sender' | 'receiver' | 'either' | 'none';

export interface FrameLayout {
  readonly type: number;
  readonly name: string;
  readonly from: Sender;
  /** For frames about a binding: which end of it sends this frame. */
  readonly side: BindingSide;
  readonly fields: readonly FieldLayout[];
}

const U32 = 2 ** 32 - 1;
const SAFE = Number.MAX_SAFE_INTEGER;

const id: FieldLayout = { name: 'id', role: 'bindingId', domain: { min: 1, max: U32 }, invalid: 'connection' };

/** Protocol version 2 (docs/PROTOCOL.md, "Frames"). */
export const PROTOCOL_VERSION = 2;

export const FRAME_LAYOUTS: readonly FrameLayout[] = [
  {
    type: 0,
    name: 'HELLO',
    from: 'both',
    side: 'none',
    fields: [
      { name: 'version', role: 'version', domain: { min: 2, max: 2, oneOf: [PROTOCOL_VERSION] }, invalid: 'connection' },
      {
        name: 'options',
        role: 'options',
        invalid: 'lenient', // not a map: read as no options
        entries: [
          // Under 64 bytes no frame fits: refused like a non-number.
          { name: 'maxFrameBytes', role: 'frameLimit', domain: { min: 64, max: SAFE }, invalid: 'connection', optional: true },
          { name: 'keepalive', role: 'keepalive', domain: { min: 0, max: SAFE }, invalid: 'connection', optional: true },
          { name: 'auth', role: 'auth', invalid: 'lenient', optional: true },
          // resume: { session, token, ctl } (a reconnecting importer); session/resumed/ctl/instance (the exporter's answer).
          { name: 'resume', role: 'any', invalid: 'lenient', optional: true },
          { name: 'instance', role: 'any', invalid: 'lenient', optional: true },
        ],
      },
    ],
  },
  {
    type: 1,
    name: 'OPEN',
    // Either side may open a binding (version 2), each in its own id space: the importer's ids are odd.
    from: 'importer',
    side: 'none',
    fields: [
      { name: 'id', role: 'newId', domain: { min: 1, max: U32 }, invalid: 'connection' },
      // A channel name, or (a channel end inside a value) the number of an end the peer offered.
      { name: 'name', role: 'channel', invalid: 'refuse' },
      { name: 'dir', role: 'dir', domain: { min: 0, max: 1 }, invalid: 'connection' },
      // 0 means 1; above the exporter's maxWindow: refused for the binding; not an unsigned integer: EPROTO.
      { name: 'size', role: 'window', domain: { min: 0, max: SAFE }, invalid: 'refuse' },
      // -1: unbounded; else the exact number of values.
      { name: 'count', role: 'count', domain: { min: -1, max: SAFE }, invalid: 'refuse' },
    ],
  },
  { type: 2, name: 'DATA', from: 'both', side: 'sender', fields: [id, { name: 'value', role: 'value', invalid: 'connection' }] },
  {
    type: 3,
    name: 'ACK',
    from: 'both',
    side: 'receiver',
    fields: [id, { name: 'seq', role: 'ackSeq', domain: { min: 0, max: SAFE }, invalid: 'connection' }],
  },
  // END carries the number of values sent; CANCEL the receiver's final acknowledgement (version 2).
  { type: 4, name: 'END', from: 'both', side: 'sender', fields: [id, { name: 'total', role: 'sentTotal', domain: { min: 0, max: SAFE }, invalid: 'connection' }] },
  { type: 5, name: 'CANCEL', from: 'both', side: 'receiver', fields: [id, { name: 'acked', role: 'ackSeq', domain: { min: 0, max: SAFE }, invalid: 'connection' }] },
  {
    type: 6,
    name: 'ERROR',
    from: 'both',
    side: 'either',
    fields: [
      { name: 'id', role: 'bindingOrConnection', domain: { min: 0, max: U32 }, invalid: 'connection' },
      { name: 'code', role: 'errorCode', invalid: 'lenient' }, // not one of our codes: reported as EREMOTE
      { name: 'message', role: 'text', invalid: 'lenient' },
      // Values before the error (from the sender) or the final acknowledgement (from the receiver); absent: 0.
      { name: 'n', role: 'uint', domain: { min: 0, max: 0 }, invalid: 'lenient', optional: true },
    ],
  },
  // PING and PONG may carry a RECEIPT count (lenient: a count of reliable frames not sent is refused, which the layout cannot tell).
  { type: 7, name: 'PING', from: 'both', side: 'none', fields: [] },
  { type: 8, name: 'PONG', from: 'both', side: 'none', fields: [] },
  { type: 9, name: 'BYE', from: 'both', side: 'none', fields: [] },
];

/** Frame types no layout uses (any other type is EPROTO). RECEIPT (10) and REPLAY (11) exist but are not generated: their counts depend on history. */
export const UNKNOWN_TYPES: readonly number[] = [42, 99, 127];

/** Codes a NetchanError may carry (API.md "Errors" and src/errors/NetchanError.ts). */
export const OUR_CODES: ReadonlySet<string> = new Set([
  'ENOCHAN',
  'EDIR',
  'EEXIST',
  'ETIMEDOUT',
  'EPROTO',
  'ETOOBIG',
  'ECLOSED',
  'EAUTH',
  'EOVERFLOW',
  'EREMOTE',
  'EINVAL',
]);

/** The layout of frame `name` (throws if there is none: a typo in a generator). */
export function layout(name: string): FrameLayout {
  const l = FRAME_LAYOUTS.find((f) => f.name === name);
  if (!l) throw new Error(`no frame layout named ${name}`);
  return l;
}

/** True when `v` is inside `d`. */
export function inDomain(d: NumberDomain, v: unknown): boolean {
  if (typeof v !== 'number') return false;
  if (d.integer !== false && !Number.isInteger(v)) return false;
  if (Number.isNaN(v) || v < d.min || v > d.max) return false;
  return d.oneOf === undefined || d.oneOf.includes(v);
}

/**
 * Values to put where a number goes: NaN, ±Infinity, -1, floats, 2^53 and
 * beyond, and things that are not numbers at all.
 */
export const OUT_OF_RANGE: readonly unknown[] = [
  NaN,
  Infinity,
  -Infinity,
  -1,
  -2,
  0.5,
  1.5,
  -0.5,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  2 ** 64,
  -(2 ** 63),
  1e308,
  '1',
  '',
  null,
  true,
  [],
  {},
];
