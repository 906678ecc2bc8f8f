/** Counters of an importer's connection, or of a client's current connection on an exporter. */
export interface SessionStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
}
