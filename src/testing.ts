// rx-netchan/testing: virtual-time transports and helpers for marble tests (Node and browsers).
export { virtualPipe } from './testing/virtualPipe.js';
export type { VirtualPipeConfig, VirtualConnection, VirtualFrame } from './testing/virtualPipe.js';
export { virtualNetwork } from './testing/virtualNetwork.js';
export type { VirtualNetwork, VirtualNetworkConfig } from './testing/virtualNetwork.js';
export { observableMatcher, normalizeErrors } from './testing/observableMatcher.js';
