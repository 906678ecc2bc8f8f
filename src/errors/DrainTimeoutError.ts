import { NetchanError } from './NetchanError.js';

/** `drain`/`sync` did not finish within its timeout. `code` is `'ETIMEDOUT'`. */
export class DrainTimeoutError extends NetchanError {
  /**
   * @param what `'drain'` or `'sync'`.
   * @param pending Values still unacknowledged when the time ran out.
   * @param timeout The timeout in milliseconds.
   */
  constructor(
    what: 'drain' | 'sync',
    readonly pending: number,
    timeout: number,
  ) {
    super('ETIMEDOUT', `${what} timed out after ${timeout} ms with ${pending} value(s) unacknowledged`);
    // name stays 'NetchanError' so code-based matching and isNetchanError work everywhere.
  }
}
