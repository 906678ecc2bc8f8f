import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import type { Connection } from '../transport/Connection.js';
import { BinPayload, writeBinHeader, type ValueCodec } from '../protocol/codec.js';
import { FrameType, LENGTH_BYTES } from '../protocol/frame.js';
import { cutMessages, MAX_MESSAGE_BYTES } from '../protocol/framing.js';

const INITIAL = 16 * 1024;
/** Batch size that is written at once rather than at the end of the tick. */
const FLUSH_AT = 64 * 1024;
/** Values this big go out as their own chunk on stream transports. */
const LARGE = 16 * 1024;

/** The end of this event-loop turn (Node); browsers have none, and write acknowledgements at once. */
const endOfTurn = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
const cancelEndOfTurn = (globalThis as { clearImmediate?: (h: unknown) => void }).clearImmediate;

/**
 * Collects outgoing frames into one buffer and writes it once per tick, so a
 * burst of values and their acknowledgements costs one socket write. The flush
 * runs on the given scheduler (asapScheduler by default), so it lands in the
 * same virtual frame under TestScheduler.run().
 */
export class FrameWriter {
  // Allocated on the first write: an idle (or never-handshaken) connection costs no buffer.
  private buf = new Uint8Array(0);
  private view = new DataView(this.buf.buffer);
  private len = 0;
  private scheduled: Subscription | null = null;
  private closed = false;
  /** The batch holds a frame other than ACK: its end-of-tick flush goes out at once. */
  private eager = false;
  /** An acknowledgements-only batch waiting for the end of the turn (see flush). */
  private lazy: unknown = null;
  /** Called at the start of each flush, before the buffer is written: lets acks join the batch. */
  beforeFlush: (() => void) | null = null;
  /** Called when the transport reports its send buffer over the high-water mark. */
  onBackpressure: (() => void) | null = null;
  /** Frames and bytes written, for metrics. */
  framesOut = 0;
  bytesOut = 0;

  constructor(
    private readonly conn: Connection,
    private readonly codec: ValueCodec,
    private readonly scheduler: SchedulerLike,
  ) {}

  /** True on a real-time transport (one with flush(), in a runtime with an end of turn): TCP, TLS, WebSocket under Node. */
  get realTime(): boolean {
    return endOfTurn !== undefined && this.conn.flush !== undefined;
  }

  /** DATA frame around an already-encoded value (a {@link BinPayload} gets its `bin` header here). */
  data(id: number, payload: Uint8Array): void {
    const n = payload.length;
    const bin = payload instanceof BinPayload;
    const head = bin ? (n < 0x100 ? 2 : n < 0x10000 ? 3 : 5) : 0;
    const bodyLen = 2 + uintSize(id) + head + n;
    if (n >= LARGE && this.conn.framing === 'message') return this.dataMessage(id, payload, head, bodyLen);
    const large = n >= LARGE;
    // Pending acks first: nothing may land between a large frame's header and its value.
    if (large) this.beforeFlush?.();
    const at = this.reserve(LENGTH_BYTES + bodyLen - (large ? n : 0));
    this.view.setUint32(at, bodyLen);
    let p = at + LENGTH_BYTES;
    this.buf[p++] = 0x93;
    this.buf[p++] = FrameType.Data;
    p = this.putUint(p, id);
    if (bin) p = writeBinHeader(this.buf, p, n);
    if (large) {
      // The header goes out with the batch, the value right behind it as its own
      // chunk: no copy. Payloads do not change once sent (a Uint8Array value is the
      // caller's, who may not modify it until it is acknowledged), so sharing is safe.
      this.len = p;
      this.framesOut++;
      this.writeOut();
      if (this.closed) return;
      this.bytesOut += n;
      // A plain view: what the transport passes on must look like any other chunk.
      this.put(bin ? new Uint8Array(payload.buffer, payload.byteOffset, n) : payload);
      this.conn.flush?.();
      return;
    }
    this.buf.set(payload, p);
    this.eager = true;
    this.commit(p + n);
  }

  /**
   * A large value on a message transport: a message of its own, exactly its
   * frame's size (one copy), after what is batched, so the batch never grows
   * to hold it.
   */
  private dataMessage(id: number, payload: Uint8Array, head: number, bodyLen: number): void {
    this.writeOut();
    if (this.closed) return;
    const msg = new Uint8Array(LENGTH_BYTES + bodyLen);
    new DataView(msg.buffer).setUint32(0, bodyLen);
    msg[LENGTH_BYTES] = 0x93;
    msg[LENGTH_BYTES + 1] = FrameType.Data;
    let p = putUint(msg, LENGTH_BYTES + 2, id);
    if (head > 0) p = writeBinHeader(msg, p, payload.length);
    msg.set(payload, p);
    this.framesOut++;
    this.bytesOut += msg.length;
    this.put(msg);
  }

  /** ACK frame: cumulative sequence `seq`. */
  ack(id: number, seq: number): void {
    const bodyLen = 2 + uintSize(id) + uintSize(seq);
    const at = this.reserve(LENGTH_BYTES + bodyLen);
    this.view.setUint32(at, bodyLen);
    let p = at + LENGTH_BYTES;
    this.buf[p++] = 0x93;
    this.buf[p++] = FrameType.Ack;
    p = this.putUint(p, id);
    p = this.putUint(p, seq);
    this.commit(p);
  }

  /** Any other frame, encoded as a MessagePack array. */
  control(frame: readonly unknown[]): void {
    const body = this.codec.encodeControl(frame);
    const at = this.reserve(LENGTH_BYTES + body.length);
    this.view.setUint32(at, body.length);
    this.buf.set(body, at + LENGTH_BYTES);
    this.eager = true;
    this.commit(at + LENGTH_BYTES + body.length);
  }

  /**
   * Writes what is buffered now, without waiting for the tick to end. `urgent`
   * also asks the transport not to hold it for the rest of the event-loop turn;
   * a batch holding values or control frames is always urgent (a single value
   * leaves in the turn it was sent in), one of acknowledgements only is not
   * (the transport may gather it with the values the same turn lets through).
   */
  flush(urgent = true): void {
    if (this.scheduled) {
      this.scheduled.unsubscribe();
      this.scheduled = null;
    }
    const now = urgent || this.eager;
    // Acknowledgements only, on a real transport (one with flush(): TCP, TLS, WebSocket):
    // they wait for the end of the turn, so that values sent later in this turn (an
    // echo's next request, say) carry them: one chunk, one write. The marble tests'
    // virtual transports have no flush() and see every batch at the end of its tick.
    if (!now && this.realTime) {
      this.lazy ??= endOfTurn!(this.flushLazy);
      return;
    }
    if (this.lazy !== null) {
      cancelEndOfTurn?.(this.lazy);
      this.lazy = null;
    }
    this.beforeFlush?.();
    this.writeOut();
    if (now && !this.closed) this.conn.flush?.();
  }

  /** Hands the buffered bytes to the connection. */
  private writeOut(): void {
    if (this.scheduled) {
      this.scheduled.unsubscribe();
      this.scheduled = null;
    }
    if (this.len === 0 || this.closed) return;
    this.eager = false;
    let chunk: Uint8Array;
    if (this.len * 2 < this.buf.length) {
      chunk = this.buf.slice(0, this.len);
    } else {
      // Mostly full: hand the buffer over rather than copy it; start the next
      // batch small again (it grows if it must).
      chunk = this.buf.subarray(0, this.len);
      this.buf = new Uint8Array(Math.min(this.buf.length, INITIAL * 4));
      this.view = new DataView(this.buf.buffer);
    }
    this.bytesOut += this.len;
    this.len = 0;
    if (this.conn.framing === 'message' && chunk.length > MAX_MESSAGE_BYTES) {
      for (const part of cutMessages(chunk, MAX_MESSAGE_BYTES)) this.put(part);
    } else {
      this.put(chunk);
    }
  }

  private put(chunk: Uint8Array): void {
    if (this.conn.write(chunk) === false) this.onBackpressure?.();
  }

  /** Makes sure a flush is scheduled for the end of this tick. */
  schedule(): void {
    if (this.scheduled === null && !this.closed) {
      this.scheduled = this.scheduler.schedule(flushAction, 0, this);
    }
  }

  /** @internal The scheduled flush runs: it is over once it returns, so it need not be unsubscribed. */
  endOfTick(): void {
    this.scheduled = null;
    this.flush(false);
  }

  private readonly flushLazy = (): void => {
    this.lazy = null;
    if (!this.closed) this.flush();
  };

  /** Drops buffered frames and cancels the pending flush. */
  dispose(): void {
    this.closed = true;
    this.scheduled?.unsubscribe();
    this.scheduled = null;
    if (this.lazy !== null) cancelEndOfTurn?.(this.lazy);
    this.lazy = null;
    this.len = 0;
    this.buf = new Uint8Array(0);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): number {
    const need = this.len + n;
    if (need > this.buf.length) {
      let size = this.buf.length * 2 || INITIAL;
      while (size < need) size *= 2;
      const next = new Uint8Array(size);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    return this.len;
  }

  private commit(end: number): void {
    this.len = end;
    this.framesOut++;
    // A big batch goes out at once: the peer can start on it while we produce more.
    if (end >= FLUSH_AT) this.flush();
    else this.schedule();
  }

  private putUint(p: number, n: number): number {
    const b = this.buf;
    if (n < 0x80) {
      b[p++] = n;
    } else if (n < 0x10000) {
      b[p++] = 0xcd;
      this.view.setUint16(p, n);
      p += 2;
    } else if (n < 0x100000000) {
      b[p++] = 0xce;
      this.view.setUint32(p, n);
      p += 4;
    } else {
      b[p++] = 0xcf;
      this.view.setUint32(p, Math.floor(n / 0x100000000));
      this.view.setUint32(p + 4, n >>> 0);
      p += 8;
    }
    return p;
  }
}

function flushAction(this: SchedulerAction<FrameWriter>, writer?: FrameWriter): void {
  writer?.endOfTick();
}

/** A MessagePack unsigned integer at `p` of `b`; returns the position after it. */
function putUint(b: Uint8Array, p: number, n: number): number {
  if (n < 0x80) {
    b[p] = n;
    return p + 1;
  }
  const size = uintSize(n) - 1;
  b[p] = size === 2 ? 0xcd : size === 4 ? 0xce : 0xcf;
  for (let i = size; i > 0; i--) {
    b[p + i] = n % 256;
    n = Math.floor(n / 256);
  }
  return p + 1 + size;
}

function uintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
}
