import { channel } from 'node:diagnostics_channel';
import { DIAGNOSTICS_CHANNEL_NAMES, type DiagnosticsChannels } from '../observe/diagnostics.js';

/**
 * Node's `diagnostics_channel` channels for rx-netchan's events, by the names
 * in {@link DIAGNOSTICS_CHANNEL_NAMES}. `rx-netchan/node` installs them; subscribe
 * with `diagnostics_channel.subscribe('rx-netchan:connection:open', fn)`.
 */
export function nodeDiagnosticsChannels(): DiagnosticsChannels {
  const n = DIAGNOSTICS_CHANNEL_NAMES;
  return {
    connectionOpen: channel(n.connectionOpen),
    connectionClose: channel(n.connectionClose),
    bindingOpen: channel(n.bindingOpen),
    bindingClose: channel(n.bindingClose),
    bindingRefuse: channel(n.bindingRefuse),
  };
}
