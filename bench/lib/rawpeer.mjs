// The raw baseline: node:net, length-prefixed msgpack frames, batched writes.
// Frame: u32 length (of what follows) | u8 type | body.  Types: DATA, END, ACK (u32 cumulative count).
// With `credit` > 0 the sender keeps at most `credit` values unacknowledged and the
// receiver acknowledges every `ackEvery` values (cumulative): the cheapest honest
// version of acknowledgement backpressure.
import { Encoder, Decoder } from '@msgpack/msgpack';

const DATA = 1;
const END = 2;
const ACK = 3;
const BATCH = 64 * 1024; // flush a batch when it reaches this size
const HWM = 256 * 1024; // stop producing while the socket holds this much unsent

export class RawPeer {
  constructor(socket, { credit = 0, ackEvery = 16, onMessage, onEnd } = {}) {
    this.socket = socket;
    this.credit = credit;
    this.ackEvery = ackEvery;
    this.onMessage = onMessage ?? (() => {});
    this.onEnd = onEnd ?? (() => {});
    this.encoder = new Encoder();
    this.decoder = new Decoder();
    this.batch = Buffer.allocUnsafe(BATCH * 2);
    this.batchLen = 0;
    this.flushQueued = false;
    this.sent = 0;
    this.acked = 0;
    this.received = 0;
    this.ackedReceived = 0;
    this.waiters = [];
    this.onWritable = null;
    this.rest = null;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('drain', () => this.notify());
    socket.on('error', () => {});
  }

  writable() {
    if (this.credit > 0 && this.sent - this.acked >= this.credit) return false;
    return this.socket.writableLength + this.batchLen < HWM;
  }

  waitWritable() {
    if (this.writable()) return Promise.resolve();
    return new Promise((res) => this.waiters.push(res));
  }

  notify() {
    if (!this.writable()) return;
    if (this.waiters.length) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
    }
    this.onWritable?.();
  }

  reserve(n) {
    if (this.batchLen + n > this.batch.length) {
      this.flush();
      if (n > this.batch.length) this.batch = Buffer.allocUnsafe(n);
    }
  }

  frame(type, body) {
    const n = 5 + body.length;
    this.reserve(n);
    const b = this.batch;
    b.writeUInt32BE(1 + body.length, this.batchLen);
    b[this.batchLen + 4] = type;
    b.set(body, this.batchLen + 5);
    this.batchLen += n;
    this.schedule();
  }

  send(v) {
    this.sent++;
    this.frame(DATA, this.encoder.encodeSharedRef(v));
  }

  end() {
    this.frame(END, EMPTY);
  }

  sendAck() {
    this.ackedReceived = this.received;
    const body = Buffer.allocUnsafe(4);
    body.writeUInt32BE(this.received >>> 0, 0);
    this.frame(ACK, body);
  }

  schedule() {
    if (this.batchLen >= BATCH) return this.flush();
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush() {
    this.flushQueued = false;
    if (this.batchLen === 0 || this.socket.destroyed) return;
    // hand the filled part over and start a fresh batch buffer (the socket keeps a reference)
    const out = this.batch.subarray(0, this.batchLen);
    this.batch = Buffer.allocUnsafe(BATCH * 2);
    this.batchLen = 0;
    this.socket.write(out);
  }

  onData(chunk) {
    let buf = chunk;
    if (this.rest) {
      // an unfinished frame: collect chunks until it is whole, then join them once
      this.rest.push(chunk);
      this.restLen += chunk.length;
      if (this.restLen < this.need) return;
      buf = Buffer.concat(this.rest, this.restLen);
      this.rest = null;
    }
    let off = 0;
    const len = buf.length;
    while (len - off >= 4) {
      const flen = buf.readUInt32BE(off);
      if (len - off - 4 < flen) break;
      const type = buf[off + 4];
      const body = buf.subarray(off + 5, off + 4 + flen);
      off += 4 + flen;
      if (type === DATA) {
        this.onMessage(this.decoder.decode(body));
        if (this.credit > 0 && ++this.received - this.ackedReceived >= this.ackEvery) this.sendAck();
      } else if (type === ACK) {
        this.acked = body.readUInt32BE(0);
        this.notify();
      } else if (type === END) {
        this.onEnd();
      }
    }
    if (off < len) {
      this.rest = [buf.subarray(off)];
      this.restLen = len - off;
      this.need = len - off >= 4 ? 4 + buf.readUInt32BE(off) : 4;
    }
    if (this.batchLen > 0 && this.flushQueued) this.flush(); // acknowledgements go out with this chunk
  }

  close() {
    this.socket.end();
    this.socket.destroy();
  }
}

const EMPTY = new Uint8Array(0);
