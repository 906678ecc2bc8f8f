// RSocket (rsocket-js 1.0 alpha, TCP transport): every direction is a requestStream
// opened by the receiving side with request-n `window`, topped up by `refill` each
// time `refill` values have arrived. msgpack payloads. Sockets get TCP_NODELAY (without it
// every REQUEST_N top-up waits for Nagle + delayed ACK, ~40 ms).
import net from 'node:net';
import { RSocketServer, RSocketConnector } from 'rsocket-core';
import { TcpServerTransport } from 'rsocket-tcp-server';
import { TcpClientTransport } from 'rsocket-tcp-client';
import { Encoder, Decoder } from '@msgpack/msgpack';
import { RoundRobin } from '../lib/util.mjs';

/** The producing end of one requestStream: sends only while the requester has credit. */
class StreamOut {
  constructor(subscriber) {
    this.subscriber = subscriber;
    this.credit = 0;
    this.waiters = [];
    this.onWritable = null;
    this.enc = new Encoder();
  }
  request(n) {
    const was = this.credit;
    this.credit += n;
    if (was === 0) {
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w();
      this.onWritable?.();
    }
  }
  writable() {
    return this.credit > 0;
  }
  waitWritable() {
    if (this.credit > 0) return Promise.resolve();
    return new Promise((res) => this.waiters.push(res));
  }
  send(v) {
    this.credit--;
    this.subscriber.onNext({ data: Buffer.from(this.enc.encode(v)) }, false);
  }
  end() {
    this.subscriber.onComplete();
  }
  handle() {
    return { request: (n) => this.request(n), cancel: () => {}, onExtension: () => {} };
  }
}

/** The consuming end: requestStream(name) with request-n window/refill. */
function consume(rsocket, name, { window, refill }, onMessage, onEnd = () => {}) {
  const dec = new Decoder();
  let got = 0;
  let requester = null;
  requester = rsocket.requestStream({ data: Buffer.from(name) }, window, {
    onNext(payload, isComplete) {
      if (payload.data && payload.data.length) onMessage(dec.decode(payload.data));
      if (++got === refill) {
        got = 0;
        requester.request(refill);
      }
      if (isComplete) onEnd();
    },
    onComplete: () => onEnd(),
    onError: () => {},
    onExtension: () => {},
  });
  return requester;
}

export async function server({ params, onMessage }) {
  const rr = new RoundRobin();
  let tcpServer;
  const rserver = new RSocketServer({
    transport: new TcpServerTransport({
      listenOptions: { port: 0, host: '127.0.0.1' },
      socketCreator: (opts) => (tcpServer = new net.Server({ ...opts, noDelay: true })),
    }),
    acceptor: {
      async accept(_setup, remotePeer) {
        setImmediate(() => consume(remotePeer, 'up', params, onMessage));
        return {
          requestStream(_payload, initialN, subscriber) {
            const out = new StreamOut(subscriber);
            rr.add(out);
            out.request(initialN);
            return out.handle();
          },
        };
      },
    },
  });
  const closeable = await rserver.bind();
  return {
    url: `tcp://127.0.0.1:${tcpServer.address().port}`,
    out: rr,
    async close() {
      closeable.close();
    },
  };
}

export async function client({ url, params, onMessage, onEnd }) {
  const { hostname, port } = new URL(url);
  let upOut = null;
  let upWaiter = null;
  const connector = new RSocketConnector({
    transport: new TcpClientTransport({ connectionOptions: { host: hostname, port: Number(port), noDelay: true } }),
    responder: {
      requestStream(_payload, initialN, subscriber) {
        upOut = new StreamOut(subscriber);
        upOut.request(initialN);
        upWaiter?.();
        return upOut.handle();
      },
    },
  });
  const rsocket = await connector.connect();
  consume(rsocket, 'down', params, onMessage, onEnd);
  if (!upOut) await new Promise((res) => (upWaiter = res));
  return { out: upOut, async close() { rsocket.close(); } };
}
