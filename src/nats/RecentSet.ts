/**
 * The last `capacity` numbers added, for "have I seen this one lately?".
 * Adding past capacity forgets the oldest; memory stays bounded.
 */
export class RecentSet {
  private readonly ring: number[];
  private readonly members = new Set<number>();
  private next = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<number>(capacity);
  }

  get size(): number {
    return this.members.size;
  }

  add(n: number): void {
    if (this.members.has(n)) return;
    if (this.members.size >= this.capacity) this.members.delete(this.ring[this.next]!);
    this.ring[this.next] = n;
    this.next = (this.next + 1) % this.capacity;
    this.members.add(n);
  }

  has(n: number): boolean {
    return this.members.has(n);
  }
}
