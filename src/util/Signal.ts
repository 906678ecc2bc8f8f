/**
 * A listener list for "something changed" notifications (acknowledgements,
 * requeues). Emitting with no listeners costs one length check, so hot paths
 * can emit freely.
 */
export class Signal {
  private listeners: Array<() => void> = [];

  get observed(): boolean {
    return this.listeners.length > 0;
  }

  /** Adds `fn`; returns the function that removes it. */
  listen(fn: () => void): () => void {
    this.listeners = [...this.listeners, fn];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }

  emit(): void {
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) ls[i]!();
  }
}
