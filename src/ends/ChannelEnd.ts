import type { NetchanError } from '../errors/NetchanError.js';

/** Brands the objects that are channel ends (they may travel inside values). */
export const CHANNEL_END: unique symbol = Symbol.for('rx-netchan.channelEnd') as never;

/** Options of a channel pair's receiving end, carried along when an end travels. */
export interface EndConfig {
  /** The receiving end's window: most values in flight to it. */
  readonly size: number;
  /** The receiving end emits Delivery objects, acknowledged by `ack()`. */
  readonly manual: boolean;
}

/** What an endpoint's table of travelled ends needs from an end. */
export interface ChannelEnd {
  /** `'recv'`: the Observable end (whoever holds it receives). `'send'`: the SendChannel end. */
  readonly [CHANNEL_END]: 'recv' | 'send';
  readonly endConfig: EndConfig;
  /** Marks the end as sent away; throws `'EPROTO'` if it already was. */
  travel(): void;
  /** The value carrying it never left this process (a local pair): it is this side's again. */
  stayed(): void;
  /**
   * The end was offered in a value and can no longer be bound (the value was
   * discarded, delivered without anyone binding it, or the endpoint closed):
   * its partner settles, with `error` or by completing.
   */
  orphaned(error: NetchanError): void;
}

/** True for a channel end (of any copy of the library). */
export function isChannelEnd(v: unknown): v is ChannelEnd {
  return typeof v === 'object' && v !== null && CHANNEL_END in v;
}

/** What crosses the wire for an end: `[kind, id, size, manual]`, in MessagePack extension 0x7f. */
export type EndRef = readonly [kind: 0 | 1, id: number, size: number, manual: 0 | 1];

/** Extension type of a channel end inside a value (rx-netchan reserves 0x70–0x7f). */
export const END_EXT_TYPE = 0x7f;
