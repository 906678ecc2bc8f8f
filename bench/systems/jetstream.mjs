// Plain JetStream with the official v3 client, as an application would write it without
// rx-netchan: a work-queue stream per run, the producer publishing with js.publish() and at most
// WINDOW PubAcks outstanding, consumers sharing one durable pull consumer through consume() and
// acknowledging each message (msg.ack()). msgpack payloads. The end: after the last PubAck the
// producer publishes on a core subject; each consumer then ends once the consumer has nothing
// pending or unacknowledged (checked every 20 ms). The upward channel (hellos) is core NATS.
import { connect } from '@nats-io/transport-node';
import { AckPolicy, RetentionPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Encoder, Decoder } from '@msgpack/msgpack';

const WINDOW = 256;

export async function server({ params, onMessage }) {
  const nc = await connect({ servers: params.natsUrl, noEcho: true });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const p = params.subject;
  const stream = p.replace(/\./g, '_');
  await jsm.streams.add({ name: stream, subjects: [`${p}.down`], retention: RetentionPolicy.Workqueue });
  await jsm.consumers.add(stream, { durable_name: 'workers', ack_policy: AckPolicy.Explicit, max_ack_pending: 65_536 });
  const dec = new Decoder();
  nc.subscribe(`${p}.up`, { callback: (err, m) => !err && onMessage(dec.decode(m.data)) });
  await nc.flush();
  const enc = new Encoder();
  let outstanding = 0;
  let wake = null;
  let idle = null;
  const settled = () => {
    outstanding--;
    wake?.();
    if (outstanding === 0) idle?.();
  };
  const out = {
    writable: () => outstanding < WINDOW,
    waitWritable: () => new Promise((res) => (wake = () => ((wake = null), res()))),
    send(v) {
      outstanding++;
      js.publish(`${p}.down`, enc.encode(v)).then(settled, (e) => {
        console.error('publish failed', e.message);
        settled();
      });
    },
    end() {
      const done = outstanding === 0 ? Promise.resolve() : new Promise((res) => (idle = res));
      void done.then(() => nc.publish(`${p}.ctl`, new Uint8Array(0)));
    },
  };
  return {
    url: params.natsUrl,
    out,
    async close() {
      await nc.close();
    },
  };
}

export async function client({ params, onMessage, onEnd }) {
  const nc = await connect({ servers: params.natsUrl, noEcho: true });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const p = params.subject;
  const stream = p.replace(/\./g, '_');
  const dec = new Decoder();
  const consumer = await js.consumers.get(stream, 'workers');
  const messages = await consumer.consume({ max_messages: params.size ?? 1024 });
  void (async () => {
    for await (const m of messages) {
      onMessage(dec.decode(m.data));
      m.ack();
    }
  })();
  nc.subscribe(`${p}.ctl`, {
    callback: () => {
      const check = async () => {
        const ci = await jsm.consumers.info(stream, 'workers').catch(() => null);
        if (ci && ci.num_pending === 0 && ci.num_ack_pending === 0) onEnd();
        else setTimeout(check, 20);
      };
      void check();
    },
  });
  await nc.flush();
  const enc = new Encoder();
  return {
    out: {
      writable: () => true,
      waitWritable: () => Promise.resolve(),
      send: (v) => nc.publish(`${p}.up`, enc.encode(v)),
      end() {},
    },
    async close() {
      messages.stop();
      await nc.close();
    },
  };
}
