import { NetchanError } from '../errors/NetchanError.js';
import { Deque } from '../util/Deque.js';
import type { RecvLane, RecvSink } from './Lane.js';
import type { StandardSchemaV1 } from './StandardSchema.js';

/** An `'EINVAL'` raised by a channel's `schema`: the value that failed, and the validator's issues. */
export interface InvalidValueError extends NetchanError {
  readonly code: 'EINVAL';
  /** The value as received, before validation. */
  readonly value: unknown;
  readonly issues: ReadonlyArray<StandardSchemaV1.Issue>;
}

/** A sink whose values pass through a {@link SchemaGate}: it decides what an invalid value does to its lane. */
export interface GatedSink extends RecvSink {
  /**
   * Value `seq` of `lane` failed the schema. The sink acknowledges it (so it is
   * never delivered again, here or elsewhere), fails the lane and reports `error`.
   */
  reject(lane: RecvLane, seq: number, error: InvalidValueError): void;
  /** A value that passed late (an async validator) could not be held (`value()` returned false): fail the lane without acknowledging it. */
  overflow(lane: RecvLane): void;
}

type Pending = StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>;

type Entry =
  | { kind: 'value'; lane: RecvLane; seq: number; bytes: number; value: unknown; result: Pending }
  | { kind: 'end'; lane: RecvLane }
  | { kind: 'error'; lane: RecvLane; error: NetchanError };

/**
 * Validates each value a receiving channel gets against a Standard Schema
 * before its sink sees it, in arrival order. A synchronous validator costs a
 * call; asynchronous ones run side by side, and values (and each lane's end)
 * still reach the sink in order, each once its own validation and every
 * earlier one are done. Values are acknowledged by the sink, on delivery, so
 * a value under validation holds its place in the sender's window: credit
 * comes back only after validation.
 */
export class SchemaGate implements RecvSink {
  private readonly queue = new Deque<Entry>();
  private waiting = false;
  /** Lanes whose invalid value failed them: what else they sent is dropped (it was never acknowledged). */
  private readonly failed = new WeakSet<RecvLane>();

  constructor(
    private readonly schema: StandardSchemaV1,
    private readonly channel: string,
    private readonly sink: GatedSink,
  ) {}

  value(value: unknown, seq: number, lane: RecvLane, bytes: number): boolean {
    if (this.failed.has(lane)) return true;
    const result = this.validate(value);
    if (this.queue.length === 0 && !isPromise(result)) return this.pass(lane, seq, bytes, value, result);
    this.queue.push({ kind: 'value', lane, seq, bytes, value, result });
    this.pump();
    return true;
  }

  end(lane: RecvLane): void {
    if (this.queue.length === 0) this.sink.end(lane);
    else this.queue.push({ kind: 'end', lane });
  }

  error(error: NetchanError, lane: RecvLane): void {
    if (this.queue.length === 0) this.sink.error(error, lane);
    else this.queue.push({ kind: 'error', lane, error });
  }

  lost(lane: RecvLane, error: NetchanError | undefined): void {
    this.drop(lane);
    this.sink.lost(lane, error);
  }

  private validate(value: unknown): Pending {
    try {
      return this.schema['~standard'].validate(value);
    } catch (e) {
      return { issues: [{ message: `the validator threw: ${e instanceof Error ? e.message : String(e)}` }] };
    }
  }

  /** Delivers what is at the head of the queue, in order, waiting on a validation still running. */
  private pump(): void {
    while (!this.waiting && this.queue.length > 0) {
      const head = this.queue.peek()!;
      if (head.kind === 'value' && isPromise(head.result)) {
        this.waiting = true;
        const p = head.result;
        p.then(
          (r) => this.settled(head, r),
          (e: unknown) => this.settled(head, { issues: [{ message: `the validator failed: ${e instanceof Error ? e.message : String(e)}` }] }),
        );
        return;
      }
      this.queue.shift();
      if (head.kind === 'end') this.sink.end(head.lane);
      else if (head.kind === 'error') this.sink.error(head.error, head.lane);
      else if (!this.failed.has(head.lane) && !isPromise(head.result) && !this.pass(head.lane, head.seq, head.bytes, head.value, head.result)) this.sink.overflow(head.lane);
    }
  }

  private settled(entry: Entry & { kind: 'value' }, result: StandardSchemaV1.Result<unknown>): void {
    this.waiting = false;
    // The lane may have been lost meanwhile (its entries dropped): then this one is no longer queued.
    if (this.queue.peek() === entry) entry.result = result;
    this.pump();
  }

  private pass(lane: RecvLane, seq: number, bytes: number, value: unknown, result: StandardSchemaV1.Result<unknown>): boolean {
    if (result.issues) {
      this.failed.add(lane);
      this.drop(lane);
      this.sink.reject(lane, seq, invalidValue(this.channel, value, result.issues));
      return true;
    }
    return this.sink.value(result.value, seq, lane, bytes) !== false;
  }

  private drop(lane: RecvLane): void {
    if (this.queue.length === 0) return;
    const keep = this.queue.drainAll().filter((e) => e.lane !== lane);
    for (const e of keep) this.queue.push(e);
  }
}

/** The `'EINVAL'` for a value that failed its schema: the message names the channel and the path of the first issue. */
export function invalidValue(channel: string, value: unknown, issues: ReadonlyArray<StandardSchemaV1.Issue>): InvalidValueError {
  const first = issues[0];
  const where = formatPath(first?.path);
  const err = new NetchanError('EINVAL', `channel "${channel}": ${where}: ${first?.message ?? 'invalid value'}`);
  return Object.assign(err, { value, issues }) as InvalidValueError;
}

/** `value.items[2].name`, as encoding errors name a field. */
export function formatPath(path: StandardSchemaV1.Issue['path']): string {
  let s = 'value';
  for (const seg of path ?? []) {
    const key = typeof seg === 'object' && seg !== null ? seg.key : seg;
    if (typeof key === 'number') s += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) s += `.${key}`;
    else s += `[${typeof key === 'string' ? JSON.stringify(key) : String(key)}]`;
  }
  return s;
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}
