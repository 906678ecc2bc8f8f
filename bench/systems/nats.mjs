// NATS core through a real nats-server (started by run.mjs), with the v2 `nats` package.
import { connect } from 'nats';
import { natsCoreSystem } from '../lib/natsCore.mjs';

export const { server, client } = natsCoreSystem(connect);
