import type { RecvLane } from '../channel/Lane.js';
import type { NetchanError } from '../errors/NetchanError.js';
import { Inbound } from './Inbound.js';

/**
 * Fails a receiving lane from this side (a value failed its schema, an
 * operator cancelled the binding): on a session, an ERROR frame carrying the
 * final acknowledgement (the sender keeps what was not acknowledged, and its
 * channel errors with `error`); on another kind of lane, a cancel.
 */
export function refuseLane(lane: RecvLane, error: NetchanError): void {
  if (lane instanceof Inbound) lane.session.refuseInbound(lane, error, false);
  else lane.cancel();
}
