// What the fuzzer reports: each broken property, with the input that broke it.

export type ViolationKind =
  /** The target process died (V8 out of memory, an uncaught exception). */
  | 'crash'
  /** Its resident memory went over the bound. */
  | 'memory'
  /** Its event loop was held longer than the bound. */
  | 'loop'
  /** Something other than a NetchanError with one of our codes came out (errors$, an import's error). */
  | 'foreign-error'
  /** A frame the spec says must be refused was accepted. */
  | 'accepted-invalid'
  /** A valid frame was refused, or the connection was dropped during a valid sequence. */
  | 'refused-valid'
  /** Refused, but with a code the spec does not name for it. */
  | 'wrong-code'
  /** The endpoint sent past the window we granted, or more than `count` values. */
  | 'window'
  /** No PONG, no close: the endpoint went silent (a stalled loop, a lost frame). */
  | 'no-answer'
  /** The well-behaved connection lost values or its throughput collapsed. */
  | 'steady'
  /** The endpoint sent bytes that are not frames. */
  | 'garbled';

export interface Violation {
  readonly kind: ViolationKind;
  readonly detail: string;
  /** The input: frame summaries (name, fields, hex of hostile bytes). */
  readonly input?: readonly string[];
}

/** Counts per kind, keeping a few examples of each. */
export class Findings {
  readonly counts = new Map<ViolationKind, number>();
  readonly examples = new Map<ViolationKind, Violation[]>();

  constructor(private readonly keep = 3) {}

  add(v: Violation): void {
    this.counts.set(v.kind, (this.counts.get(v.kind) ?? 0) + 1);
    const list = this.examples.get(v.kind) ?? [];
    // Prefer the shortest inputs: the closest thing to a minimal counterexample.
    list.push(v);
    list.sort((a, b) => weight(a) - weight(b));
    if (list.length > this.keep) list.length = this.keep;
    this.examples.set(v.kind, list);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** One line per kind, then its examples. */
  format(): string {
    if (this.total === 0) return 'no findings';
    const lines: string[] = [];
    for (const [kind, n] of this.counts) {
      lines.push(`${kind}: ${n}`);
      for (const ex of this.examples.get(kind) ?? []) {
        lines.push(`  - ${ex.detail}`);
        for (const f of ex.input ?? []) lines.push(`      ${f}`);
      }
    }
    return lines.join('\n');
  }
}

function weight(v: Violation): number {
  return (v.input ?? []).reduce((n, s) => n + s.length, 0);
}
