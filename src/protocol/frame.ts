/**
 * Frame kinds. Every frame is `u32be length` + a MessagePack array whose first
 * element is one of these; see docs/PROTOCOL.md for each layout.
 */
export const FrameType = {
  Hello: 0, // [0, version, { maxFrameBytes, keepalive, auth?, resume?, session?, … }]
  Open: 1, // [1, id, name, dir, size, count]      either side; ids split by side
  Data: 2, // [2, id, value]                        a binding's sender -> receiver
  Ack: 3, // [3, id, seq]        cumulative         receiver -> sender
  End: 4, // [4, id, total]      no more data after `total` values
  Cancel: 5, // [5, id, acked]   receiver stops; final cumulative ack
  Error: 6, // [6, id, code, message, n?]  id 0 = the connection
  Ping: 7, // [7, receipt?]
  Pong: 8, // [8, receipt?]
  Bye: 9, // [9, reason?]  graceful close follows
  Receipt: 10, // [10, n]          n reliable frames (OPEN/END/CANCEL/ERROR) received so far
  Replay: 11, // [11, id, seq, sent]  after a resume: the next DATA on `id` is number `seq`
  Query: 12, // [12, n, what]      importer -> exporter: 'channels' or 'metrics' (not reliable)
  Reply: 13, // [13, n, code, result]  code null: `result` answers query n; else `result` is the error message
} as const;

export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Direction of a binding as the side that OPENs it names it. */
export const WireDir = { Recv: 0, Send: 1 } as const;

/** What a QUERY may ask for. */
export const QueryKind = { Channels: 'channels', Metrics: 'metrics' } as const;

/** Why a BYE was sent: the endpoint is closing (a reconnecting peer may dial again), or this peer is disconnected for good. */
export const ByeReason = { Close: 'close', Disconnect: 'disconnect' } as const;

/** Bytes of the length prefix. */
export const LENGTH_BYTES = 4;

/** True for the frames a session must deliver exactly once across a resume (kept until the peer's RECEIPT). */
export function isReliable(type: number): boolean {
  return type === FrameType.Open || type === FrameType.End || type === FrameType.Cancel || type === FrameType.Error;
}
