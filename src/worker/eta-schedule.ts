/**
 * Requests whose eta is in the future, in a binary heap keyed by due time, with one timer for
 * the earliest. No timer per message and no scan per tick.
 */
export class EtaSchedule<T> {
  readonly #heap: { due: number; item: T }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Infinity;

  constructor(private readonly release: (item: T) => void) {}

  get size(): number {
    return this.#heap.length;
  }

  /** Hold `item` until epoch-ms `due`. */
  add(due: number, item: T): void {
    const h = this.#heap;
    h.push({ due, item });
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]!.due <= h[i]!.due) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
    this.#arm();
  }

  #pop(): { due: number; item: T } | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l]!.due < h[m]!.due) m = l;
        if (r < h.length && h[r]!.due < h[m]!.due) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }

  #arm(): void {
    const next = this.#heap[0];
    if (!next || next.due >= this.#timerDue) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerDue = next.due;
    // setTimeout caps at ~24.8 days; re-arming on wake handles longer delays.
    this.#timer = setTimeout(() => this.#fire(), Math.min(Math.max(0, next.due - Date.now()), 2 ** 31 - 1));
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    const now = Date.now();
    while (this.#heap.length && this.#heap[0]!.due <= now) this.release(this.#pop()!.item);
    this.#arm();
  }

  /** Held items with their due times (unordered). */
  *entries(): IterableIterator<{ due: number; item: T }> {
    yield* this.#heap;
  }

  /** Take back everything and stop the timer. */
  takeAll(): T[] {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerDue = Infinity;
    return this.#heap.splice(0).map((e) => e.item);
  }
}
