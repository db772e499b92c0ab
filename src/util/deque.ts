/**
 * A FIFO queue with O(1) push and shift. `Array.prototype.shift` copies the array, which turns
 * draining thousands of buffered publishes into O(n^2).
 */
export class Deque<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  /** Number of queued items. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Append at the tail. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** The item `index` places from the head, or undefined. */
  at(index: number): T | undefined {
    return index < 0 ? undefined : this.#items[this.#head + index];
  }

  /** Remove and return the head, or undefined when empty. */
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined; // let the item be collected
    this.#head++;
    // Compact once the dead prefix dominates, so memory follows the live length.
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    } else if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return item;
  }

  /** Put `items` (in their order) in front of the current head. */
  unshiftAll(items: readonly T[]): void {
    if (items.length === 0) return;
    this.#items = [...items, ...this.#items.slice(this.#head)];
    this.#head = 0;
  }

  /** Head first, without removing. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i] as T;
  }

  /** Remove and return everything, head first. */
  drain(): T[] {
    const out = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return out;
  }
}
