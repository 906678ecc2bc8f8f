/**
 * Frame kinds. Every frame is `u32be length` + a MessagePack array whose first
 * element is one of these; see docs/PROTOCOL.md for each layout.
 */
export const FrameType = {
  Hello: 0, // [0, version, { maxFrameBytes, keepalive, auth? }]
  Open: 1, // [1, id, name, dir, size, count]      importer -> exporter
  Data: 2, // [2, id, value]                        sender -> receiver
  Ack: 3, // [3, id, seq]  cumulative              receiver -> sender
  End: 4, // [4, id]       no more data             sender -> receiver
  Cancel: 5, // [5, id]    stop sending, unbind     receiver -> sender
  Error: 6, // [6, id, code, message]  id 0 = the connection
  Ping: 7, // [7]
  Pong: 8, // [8]
  Bye: 9, // [9]  graceful close follows
} as const;

export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** Direction of a binding as the importer names it in OPEN. */
export const WireDir = { Recv: 0, Send: 1 } as const;

/** Bytes of the length prefix. */
export const LENGTH_BYTES = 4;
