/**
 * Per-endpoint observation hooks, set by an instrumentation (rx-netchan/otel)
 * and read where values are delivered. Unset, each costs a null check.
 */
export interface ObservationHooks {
  /** A received value was processed: `ms` from its delivery to its acknowledgement (the subscriber's `next()`, or `ack()` in manual mode). */
  processed: ((channel: string, ms: number) => void) | null;
}

export function noHooks(): ObservationHooks {
  return { processed: null };
}

/** Milliseconds from an arbitrary origin, for durations (`performance.now()`, in Node and browsers). */
export function now(): number {
  return performance.now();
}
