import type { Observable, Subscription } from 'rxjs';

/** Resolves after `ms` real milliseconds (keep these short: they only let the network settle). */
export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Rejects with a message naming `what` if `p` takes longer than `ms`; clears its timer either way. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Subscribes to `source` and records what it emits. `until(pred)` resolves as
 * soon as `pred` holds, re-checking on every notification (no polling).
 */
export class Recorder<T> {
  readonly values: T[] = [];
  completed = false;
  error: unknown = undefined;
  readonly subscription: Subscription;
  private readonly waiters = new Waiters();

  constructor(source: Observable<T>, private readonly onValue?: (v: T) => void) {
    this.subscription = source.subscribe({
      next: (v) => {
        this.values.push(v);
        this.onValue?.(v);
        this.poke();
      },
      error: (e) => {
        this.error = e;
        this.poke();
      },
      complete: () => {
        this.completed = true;
        this.poke();
      },
    });
  }

  get ended(): boolean {
    return this.completed || this.error !== undefined;
  }

  /** Resolves once `pred()` is true (checked now and after each notification). */
  until(pred: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
    return this.waiters.until(pred, ms, what);
  }


  /** Resolves once `n` values have arrived. */
  count(n: number, ms = 5_000): Promise<void> {
    return this.until(() => this.values.length >= n, ms, `${n} values (have ${this.values.length})`);
  }

  /** Resolves once the source has completed or errored. */
  end(ms = 5_000): Promise<void> {
    return this.until(() => this.ended, ms, 'completion');
  }

  unsubscribe(): void {
    this.subscription.unsubscribe();
  }

  private poke(): void {
    this.waiters.poke();
  }
}

/** Callbacks run on every notification: what `until(pred)` waits on, without polling. */
export class Waiters {
  private list: Array<() => void> = [];

  /** Calls `fn` on every poke(); returns the remover. */
  listen(fn: () => void): () => void {
    this.list.push(fn);
    return () => {
      this.list = this.list.filter((w) => w !== fn);
    };
  }

  /** Resolves once `pred()` is true (checked now and on each poke), or rejects after `ms`. */
  until(pred: () => boolean, ms: number, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    let remove = (): void => {};
    return within(
      new Promise<void>((resolve) => {
        remove = this.listen(() => {
          if (pred()) {
            remove();
            resolve();
          }
        });
      }),
      ms,
      what,
    ).finally(() => remove());
  }

  poke(): void {
    for (const w of [...this.list]) w();
  }
}

/** Shorthand for `new Recorder(source)`. */
export const record = <T>(source: Observable<T>, onValue?: (v: T) => void): Recorder<T> => new Recorder(source, onValue);

/** `[from, from + 1, …]`, `n` numbers. */
export const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

/** Resolves when `source` completes (ignoring values), rejects on its error. */
export function completion(source: Observable<unknown>, ms = 5_000, what = 'completion'): Promise<void> {
  return within(
    new Promise<void>((resolve, reject) => {
      source.subscribe({ error: reject, complete: () => resolve() });
    }),
    ms,
    what,
  );
}

/** Resolves with the error `source` fails with; rejects if it completes instead. */
export function failure(source: Observable<unknown>, ms = 5_000, what = 'an error'): Promise<unknown> {
  return within(
    new Promise<unknown>((resolve, reject) => {
      source.subscribe({ error: resolve, complete: () => reject(new Error(`completed instead of failing (${what})`)) });
    }),
    ms,
    what,
  );
}
