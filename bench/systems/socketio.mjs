// Socket.IO 4 with its default parser (objects as JSON, Uint8Array as binary
// attachments), websocket transport only. No application acknowledgements: the
// sender is paced on engine.io's write buffer and its 'drain' event.
import http from 'node:http';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { RoundRobin } from '../lib/util.mjs';

const MAX_BUFFERED = 1024; // packets waiting in engine.io's writeBuffer

function pacedSocket(socket, engine) {
  const peer = {
    waiters: [],
    onWritable: null,
    writable: () => engine.writeBuffer.length < MAX_BUFFERED,
    waitWritable() {
      if (peer.writable()) return Promise.resolve();
      return new Promise((res) => peer.waiters.push(res));
    },
    send: (v) => socket.emit('m', v),
    end: () => socket.emit('e'),
  };
  engine.on('drain', () => {
    const ws = peer.waiters;
    peer.waiters = [];
    for (const w of ws) w();
    peer.onWritable?.();
  });
  return peer;
}

export async function server({ onMessage }) {
  const rr = new RoundRobin();
  const httpServer = http.createServer();
  const ioServer = new Server(httpServer, { transports: ['websocket'], maxHttpBufferSize: 1e8 });
  ioServer.on('connection', (socket) => {
    socket.on('m', onMessage);
    const peer = pacedSocket(socket, socket.conn);
    rr.add(peer);
    socket.on('disconnect', () => rr.remove(peer));
  });
  await new Promise((res) => httpServer.listen(0, '127.0.0.1', res));
  return {
    url: `http://127.0.0.1:${httpServer.address().port}`,
    out: rr,
    async close() {
      ioServer.close();
    },
  };
}

export async function client({ url, onMessage, onEnd }) {
  const socket = io(url, { transports: ['websocket'], reconnection: false });
  socket.on('m', onMessage);
  socket.on('e', onEnd);
  await new Promise((res, rej) => (socket.once('connect', res), socket.once('connect_error', rej)));
  return { out: pacedSocket(socket, socket.io.engine), async close() { socket.close(); } };
}
