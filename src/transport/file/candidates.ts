/**
 * The in-memory list of message file names a consumer will try to claim next, in delivery
 * order. It exists so the hot path never lists the ready directory per message: names arrive
 * from watcher events and same-process publishes one at a time, and a full readdir only
 * happens when the list runs dry. Entries may be stale (claimed by another consumer); the claim
 * finds out with ENOENT, which is cheaper than checking.
 */

/** Sorted set of names with O(1) take-smallest; new names usually sort last, so insert is cheap. */
export class CandidateList {
  private items: string[] = [];
  private head = 0;
  private readonly members = new Set<string>();

  /** Names left to try. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** Add one name in order; duplicates are ignored. */
  add(name: string): void {
    if (this.members.has(name)) return;
    this.members.add(name);
    const items = this.items;
    // Newest messages sort last: check the tail before binary searching.
    if (items.length === this.head || (items[items.length - 1] ?? '') < name) {
      items.push(name);
      return;
    }
    let lo = this.head;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((items[mid] ?? '') < name) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, name);
  }

  /** Replace the contents with a fresh listing (already filtered, any order). */
  replace(names: string[]): void {
    this.items = names.sort();
    this.head = 0;
    this.members.clear();
    for (const n of names) this.members.add(n);
  }

  /** Take the first name in delivery order. */
  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const name = this.items[this.head++];
    if (name === undefined) return undefined;
    this.members.delete(name);
    // Compact now and then so the consumed prefix does not pin memory.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return name;
  }

  /** The first name in order, left in place. */
  peek(): string | undefined {
    return this.items[this.head];
  }

  /** The last name in order. */
  last(): string | undefined {
    return this.head < this.items.length ? this.items[this.items.length - 1] : undefined;
  }

  /** Keep only the first `max` names. */
  truncate(max: number): void {
    if (this.size <= max) return;
    for (const n of this.items.splice(this.head + max)) this.members.delete(n);
  }

  /** Forget everything. */
  clear(): void {
    this.replace([]);
  }
}
