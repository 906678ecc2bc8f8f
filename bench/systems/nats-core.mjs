// NATS core with the v3 client (@nats-io/transport-node: the client rx-netchan/nats and the
// JetStream row use). systems/nats.mjs is the same with the v2 `nats` package.
import { connect } from '@nats-io/transport-node';
import { natsCoreSystem } from '../lib/natsCore.mjs';

export const { server, client } = natsCoreSystem(connect);
