/** How an Importer redials after its connection dropped (`reconnect` option). */
export interface ReconnectConfig {
  /** Ms before the first attempt. Defaults to 100. */
  initialDelay?: number;
  /** Longest wait between attempts, in ms. Defaults to 10,000. */
  maxDelay?: number;
  /** Each wait is the previous one times this. Defaults to 2. */
  factor?: number;
  /**
   * Randomness of each wait, from 0 to 1: a wait of `d` becomes a random value
   * between `d × (1 − jitter)` and `d`, so many importers that lost the same
   * server do not all come back at once. Defaults to 0.5.
   */
  jitter?: number;
  /** Attempts before giving up (the importer then closes with the last error). Defaults to `Infinity`. */
  maxAttempts?: number;
}

/** The wait before attempt `attempt` (1-based). */
export function backoff(config: ReconnectConfig, attempt: number, random: () => number = Math.random): number {
  const initial = config.initialDelay ?? 100;
  const max = config.maxDelay ?? 10_000;
  const factor = config.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, config.jitter ?? 0.5));
  const base = Math.min(max, initial * Math.pow(factor, attempt - 1));
  return Math.max(0, Math.round(base * (1 - jitter * random())));
}
