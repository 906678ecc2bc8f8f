/**
 * A logger in pino's shape: levels taking `(fields, message)`, and `child()`
 * adding fields to every line. pino, bunyan and `console`-backed adapters fit;
 * rx-netchan is silent unless given one (`logger` in the endpoint's options).
 *
 * ## Example
 * ```ts
 * import pino from 'pino';
 * const exporter = new Exporter({ logger: pino({ level: 'debug' }) });
 * // {"level":30,"client":"9f2c…","remote":"tcp://127.0.0.1:53012","msg":"client connected"}
 * ```
 */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  error(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  debug(fields: Record<string, unknown>, message: string): void;
}

const noop = (): void => {};

/** The default: drops everything, and costs a call. */
export const SILENT_LOGGER: Logger = {
  child: () => SILENT_LOGGER,
  error: noop,
  warn: noop,
  info: noop,
  debug: noop,
};
