// raw: node:net + length-prefixed msgpack frames + batched writes.
// params.credit > 0 turns on the credit window with cumulative acknowledgements.
import net from 'node:net';
import { RawPeer } from '../lib/rawpeer.mjs';
import { RoundRobin } from '../lib/util.mjs';

export async function server({ params, onMessage }) {
  const rr = new RoundRobin();
  const peers = new Set();
  const srv = net.createServer((socket) => {
    const peer = new RawPeer(socket, { credit: params.credit, ackEvery: params.ackEvery, onMessage });
    peers.add(peer);
    rr.add(peer);
    socket.on('close', () => (peers.delete(peer), rr.remove(peer)));
  });
  await new Promise((res) => srv.listen(0, '127.0.0.1', res));
  return {
    url: `tcp://127.0.0.1:${srv.address().port}`,
    out: rr,
    async close() {
      for (const p of peers) p.close();
      await new Promise((res) => srv.close(res));
    },
  };
}

export async function client({ url, params, onMessage, onEnd }) {
  const { hostname, port } = new URL(url);
  const socket = net.connect({ host: hostname, port: Number(port) });
  await new Promise((res, rej) => (socket.once('connect', res), socket.once('error', rej)));
  const peer = new RawPeer(socket, { credit: params.credit, ackEvery: params.ackEvery, onMessage, onEnd });
  return { out: peer, async close() { peer.close(); } };
}
