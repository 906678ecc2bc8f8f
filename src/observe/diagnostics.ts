/**
 * Diagnostics events (Node's `diagnostics_channel`, as undici publishes
 * `undici:request:create`). The engine publishes through this hook, which is
 * empty until `rx-netchan/node` installs Node's channels: the root entry
 * stays free of `node:` imports, and with nobody subscribed an event costs a
 * property read (`hasSubscribers`), its message is never built.
 */

/** The part of a `diagnostics_channel` Channel the engine uses. */
export interface DiagnosticsChannel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}

/** The channels rx-netchan publishes on; see README, "Observability". */
export interface DiagnosticsChannels {
  /** `rx-netchan:connection:open`: `{ endpoint, client?, remote }`, a connection's handshake completed. */
  readonly connectionOpen: DiagnosticsChannel;
  /** `rx-netchan:connection:close`: `{ endpoint, client?, remote, error? }`. */
  readonly connectionClose: DiagnosticsChannel;
  /** `rx-netchan:binding:open`: `{ client, binding, channel, dir, window }` (exporter side). */
  readonly bindingOpen: DiagnosticsChannel;
  /** `rx-netchan:binding:close`: `{ client, binding, channel, dir }`. */
  readonly bindingClose: DiagnosticsChannel;
  /** `rx-netchan:binding:refuse`: `{ client, channel, code, message }`: an OPEN refused (ENOCHAN, EDIR, EAUTH…). */
  readonly bindingRefuse: DiagnosticsChannel;
}

/** The channel names, for `diagnostics_channel.subscribe(name, fn)`. */
export const DIAGNOSTICS_CHANNEL_NAMES = {
  connectionOpen: 'rx-netchan:connection:open',
  connectionClose: 'rx-netchan:connection:close',
  bindingOpen: 'rx-netchan:binding:open',
  bindingClose: 'rx-netchan:binding:close',
  bindingRefuse: 'rx-netchan:binding:refuse',
} as const satisfies Record<keyof DiagnosticsChannels, string>;

let installed: DiagnosticsChannels | null = null;

/** Installs the channels events are published on (`rx-netchan/node` does it with Node's); `null` removes them. */
export function setDiagnosticsChannels(channels: DiagnosticsChannels | null): void {
  installed = channels;
}

/** The installed channels, or null. */
export function diagnostics(): DiagnosticsChannels | null {
  return installed;
}
