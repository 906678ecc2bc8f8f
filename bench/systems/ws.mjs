// ws + msgpack: binary frames carry msgpack values, text frames carry control ("end").
// No application acknowledgements: the sender is paced on ws send callbacks (data handed to the kernel).
import { WebSocketServer, WebSocket } from 'ws';
import { Encoder, Decoder } from '@msgpack/msgpack';
import { RoundRobin } from '../lib/util.mjs';

const MAX_UNSENT = 1024; // messages passed to ws.send whose callback has not fired yet

class WsPeer {
  constructor(ws, onMessage, onEnd = () => {}) {
    this.ws = ws;
    this.encoder = new Encoder();
    this.decoder = new Decoder();
    this.unsent = 0;
    this.waiters = [];
    this.onWritable = null;
    this.sentCb = () => {
      if (--this.unsent === MAX_UNSENT >> 1) this.notify();
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) onMessage(this.decoder.decode(data));
      else onEnd();
    });
    ws.on('error', () => {});
  }
  writable() {
    return this.unsent < MAX_UNSENT;
  }
  waitWritable() {
    if (this.writable()) return Promise.resolve();
    return new Promise((res) => this.waiters.push(res));
  }
  notify() {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
    this.onWritable?.();
  }
  send(v) {
    this.unsent++;
    this.ws.send(this.encoder.encode(v), { binary: true }, this.sentCb);
  }
  end() {
    this.ws.send('end');
  }
}

export async function server({ onMessage }) {
  const rr = new RoundRobin();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((res) => wss.once('listening', res));
  wss.on('connection', (ws) => {
    const peer = new WsPeer(ws, onMessage);
    rr.add(peer);
    ws.on('close', () => rr.remove(peer));
  });
  return {
    url: `ws://127.0.0.1:${wss.address().port}/`,
    out: rr,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise((res) => wss.close(res));
    },
  };
}

export async function client({ url, onMessage, onEnd }) {
  const ws = new WebSocket(url);
  await new Promise((res, rej) => (ws.once('open', res), ws.once('error', rej)));
  const peer = new WsPeer(ws, onMessage, onEnd);
  return { out: peer, async close() { ws.terminate(); } };
}
