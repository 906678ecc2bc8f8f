/**
 * Running counters of one channel (or one connection), for metrics. Plain
 * fields, bumped on the hot path where values and acknowledgements already
 * pass; read only when someone asks for metrics.
 */
export class ChannelMeter {
  /** Values received, and their encoded bytes. */
  valuesIn = 0;
  bytesIn = 0;
  /** Values written to receivers (a value sent again after a requeue counts again), and their bytes. */
  valuesOut = 0;
  bytesOut = 0;
  /** Values sent from here that receivers acknowledged. */
  acked = 0;
  /** Values delivered to subscribers here (acknowledged back to the sender). */
  delivered = 0;
  /** Bindings refused or failed, values rejected by a schema. */
  errors = 0;
}
