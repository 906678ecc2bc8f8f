import { NetchanError } from '../errors/NetchanError.js';
import type { ValueCodec } from '../protocol/codec.js';
import type { ChannelEndHooks } from '../protocol/valueExtensions.js';

const REFUSING: unique symbol = Symbol('rx-netchan.nats.refusesEnds');

/**
 * Makes `codec` (an endpoint's) refuse to encode channel ends with
 * `'EINVAL'`. An end inside a value is bound back over the session that
 * carried it; a value going through NATS has no session (any process may
 * receive it, maybe after the sender exited), so ends cannot travel over
 * `nats://` in this version. The check sits at encoding, where `next()`
 * throws it to the caller, because once an endpoint uses NATS any of its
 * channels' values may go there: an exporter listening on `nats://` and on
 * `tcp://` refuses ends on all its channels. Ends arriving over a direct
 * connection still decode (the previous hooks bind them).
 */
export function refuseChannelEnds(codec: ValueCodec): void {
  const inner = codec.endHooks;
  if (inner === null || REFUSING in inner) return;
  const hooks: ChannelEndHooks & { [REFUSING]: true } = {
    [REFUSING]: true,
    isEnd: (value) => inner.isEnd(value),
    offer: () => {
      throw new NetchanError(
        'EINVAL',
        'a channel end (channelPair, request) cannot travel inside a value over nats:// in this version; send it over a direct transport (tcp://, ws://) instead',
      );
    },
    materialize: (ref, session) => inner.materialize(ref, session),
  };
  codec.setEndHooks(hooks);
}
