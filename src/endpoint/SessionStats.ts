/**
 * Counters of one connection: an importer's, or one client's on an exporter.
 * The frame and byte counters are the current connection's (a resumed session
 * starts them again); the value counters cover the whole session.
 */
export interface SessionStats {
  /** Frames and bytes on the wire, this connection. */
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Values (DATA) received and sent over the session, and their encoded bytes. */
  valuesIn: number;
  valuesOut: number;
  valueBytesIn: number;
  valueBytesOut: number;
  /** Values sent that the peer acknowledged. */
  acked: number;
  /** Values sent and not acknowledged yet. */
  inFlight: number;
  /** Bindings refused or failed, values rejected by a schema. */
  errors: number;
  /** Last round-trip time measured by PING/PONG, in ms; null until one was. */
  rtt: number | null;
}
