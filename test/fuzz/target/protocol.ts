// Messages between the fuzzer and its target process (over Node's IPC channel).

/** What the target reports when probed. */
export interface TargetStats {
  /** Date.now() in the target. */
  readonly at: number;
  readonly rssMB: number;
  readonly peakRssMB: number;
  readonly heapMB: number;
  /** Longest event-loop delay since the last probe. */
  readonly loopMaxMs: number;
  readonly loopMaxTotalMs: number;
  /** Frames the endpoint's sessions decoded and accepted (a refused frame does not count). */
  readonly framesDecoded: number;
  /** Connections served so far. */
  readonly sessions: number;
  /** Values the well-behaved connection has received, and how many arrived out of order. */
  readonly steadyReceived: number;
  readonly steadyGaps: number;
  /** NetchanError codes seen (errors$, imports), as counts. */
  readonly codes: Readonly<Record<string, number>>;
  /** Errors that are not a NetchanError with one of our codes, since the last probe. */
  readonly foreign: readonly string[];
}

export type TargetMessage =
  | { readonly type: 'ready'; readonly port: number; readonly baseline: number }
  | { readonly type: 'probe'; readonly id: number }
  | { readonly type: 'stats'; readonly id: number; readonly stats: TargetStats }
  | { readonly type: 'dial'; readonly url: string; readonly pool: number }
  | { readonly type: 'stop'; readonly id: number }
  | { readonly type: 'fatal'; readonly message: string };
