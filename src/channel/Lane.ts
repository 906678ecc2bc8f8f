import type { NetchanError } from '../errors/NetchanError.js';
import type { ChannelMeter } from './ChannelMeter.js';

/**
 * The channel-level seam. A channel's queue (Dispatcher) hands encoded values
 * to *send lanes*; a channel that receives gets values from *receive lanes*.
 * A binding over a connection (session/Outbound, session/Inbound) is one kind
 * of lane; a broker-backed channel (NATS JetStream) or a local channel pair
 * provides others. Nothing above this file knows which kind it has.
 */

/** `'open'`: takes values. `'ended'`: no more values (END sent, `count` reached, or a value refused), awaiting acks. `'gone'`: released or lost. */
export type LaneState = 'open' | 'ended' | 'gone';

/** One receiver's share of a channel's values: a window of values in flight, acknowledged cumulatively. */
export interface SendLane {
  readonly channel: string;
  readonly state: LaneState;
  /** The receiver's window, in values. */
  readonly window: number;
  /** Values this lane may take now (0 while its link is down or congested). */
  readonly credit: number;
  /** Values sent on this lane (the last one's sequence number). */
  readonly sent: number;
  /** Highest cumulative acknowledgement. */
  readonly acked: number;
  readonly unacked: number;
  /** True once no more values will be sent and every one has been acknowledged. */
  readonly finished: boolean;
  /** True when `payload` fits in one frame for this receiver. */
  fits(payload: Uint8Array): boolean;
  send(payload: Uint8Array): void;
  /** The next value is larger than this receiver accepts: fail the lane with 'ETOOBIG' (the value stays queued). */
  refuse(payload: Uint8Array): void;
  /** No more values: the receiver completes after those sent. */
  end(): void;
  /** The channel failed: tell the receiver, and let go of the lane. */
  fail(error: { code: string; message: string }): void;
  /** Let go of a finished lane. */
  release(): void;
  /** The values sent and not acknowledged, oldest first, taken out of the lane (it is lost: they go back to the queue). */
  takeUnacked(): Uint8Array[];
}

/** Who feeds a send lane: told when acknowledgements free window, when the lane can carry values again, and when it is over. */
export interface SendLaneOwner {
  /** Counters the session bumps as this owner's values go out and are acknowledged (metrics); optional. */
  readonly meter?: ChannelMeter;
  /** Values waiting in the channel's queue for window (an adaptive window grows only while some wait); optional: unknown counts as some. */
  readonly queued?: number;
  /** Lanes taking from the channel's queue now (several: adaptive windows stay at their start, so a work queue stays fair); optional: 1. */
  readonly receivers?: number;
  onAck(lane: SendLane): void;
  onWritable(lane: SendLane): void;
  /**
   * The lane is over before it finished: its receiver cancelled (`error` unset)
   * or failed it, or its session ended. Its unacknowledged values are in `takeUnacked()`.
   */
  onLost(lane: SendLane, error: NetchanError | undefined, cause: 'cancel' | 'error' | 'session'): void;
}

/** A receiving lane, as the channel that takes its values sees it. */
export interface RecvLane {
  /** Marks value `seq` processed: acknowledged cumulatively. */
  ack(seq: number): void;
  /** Stop receiving: what was not acknowledged goes back to the sender's queue. */
  cancel(): void;
}

/** Where a receiving lane delivers. */
export interface RecvSink {
  /**
   * A value arrived; `seq` is its 1-based sequence number on the lane and
   * `bytes` its encoded size. Return `false` to refuse it (the sink cannot hold
   * more): the lane then fails with `'EOVERFLOW'` and the sender keeps it.
   */
  value(value: unknown, seq: number, lane: RecvLane, bytes: number): boolean | void;
  /** The sender ended the lane (END, or `count` values received). */
  end(lane: RecvLane): void;
  /** The lane failed: the sender's error, or a refusal. */
  error(error: NetchanError, lane: RecvLane): void;
  /** The session ended under the lane, or it was refused: `error` unset when it closed cleanly. */
  lost(lane: RecvLane, error: NetchanError | undefined): void;
}
