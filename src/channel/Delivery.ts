/**
 * A value received in manual-acknowledgement mode (`ack: 'manual'`). The value
 * holds its place in the window until `ack()` is called, so a slow stage holds
 * the sender back instead of buffering behind it. `ack()` is idempotent.
 */
export interface Delivery<T> {
  readonly value: T;
  /** 1-based position of the value on its binding. */
  readonly seq: number;
  ack(): void;
}
