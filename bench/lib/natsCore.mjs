// NATS core pub/sub for the bench, with either client (`connect` from the v2 `nats` package or
// from the v3 `@nats-io/transport-node`): msgpack payloads, a queue group for S5's competing
// consumers, no acknowledgements, no persistence. The publisher paces itself with flush() (a
// PING/PONG round trip) every 1,024 messages.
import { Encoder, Decoder } from '@msgpack/msgpack';

export function natsCoreSystem(connect) {
  const FLUSH_EVERY = 1024;

  function publisher(nc, subject) {
    const enc = new Encoder();
    let since = 0;
    return {
      writable: () => since < FLUSH_EVERY,
      async waitWritable() {
        await nc.flush();
        since = 0;
      },
      send(v) {
        since++;
        nc.publish(subject, enc.encode(v));
      },
      end() {},
    };
  }

  async function server({ params, onMessage }) {
    const nc = await connect({ servers: params.natsUrl, noEcho: true });
    const dec = new Decoder();
    const p = params.subject;
    nc.subscribe(`${p}.up`, { callback: (err, m) => !err && onMessage(dec.decode(m.data)) });
    await nc.flush();
    const out = publisher(nc, `${p}.down`);
    out.end = () => nc.publish(`${p}.ctl`, new Uint8Array(0));
    return {
      url: params.natsUrl,
      out,
      async close() {
        await nc.close();
      },
    };
  }

  async function client({ params, onMessage, onEnd }) {
    const nc = await connect({ servers: params.natsUrl, noEcho: true });
    const dec = new Decoder();
    const p = params.subject;
    nc.subscribe(`${p}.down`, { queue: 'workers', callback: (err, m) => !err && onMessage(dec.decode(m.data)) });
    nc.subscribe(`${p}.ctl`, { callback: () => onEnd() });
    await nc.flush();
    return {
      out: publisher(nc, `${p}.up`),
      async close() {
        await nc.close();
      },
    };
  }
  return { server, client };
}
