import { Deque } from '../util/deque.js';

/**
 * The async pool: at most `concurrency` jobs run at once on the event loop; the rest wait in
 * FIFO order (they are the worker's reserved, prefetched requests).
 */
export class AsyncPool<T> {
  #active = 0;
  readonly #waiting = new Deque<T>();
  #idle: (() => void)[] = [];

  constructor(
    public concurrency: number,
    private readonly run: (item: T) => Promise<void>,
  ) {}

  /** Jobs running now. */
  get active(): number {
    return this.#active;
  }

  /** Jobs waiting for a slot, oldest first. */
  waiting(): Iterable<T> {
    return this.#waiting;
  }

  get waitingCount(): number {
    return this.#waiting.length;
  }

  /** Run now if a slot is free, else queue. */
  submit(item: T): void {
    if (this.#active < this.concurrency) this.#start(item);
    else this.#waiting.push(item);
  }

  #start(item: T): void {
    this.#active++;
    this.run(item)
      .catch(() => undefined) // run() reports its own errors; a job never stops the pool
      .finally(() => {
        this.#active--;
        const next = this.#waiting.shift();
        if (next !== undefined) this.#start(next);
        else if (this.#active === 0) for (const w of this.#idle.splice(0)) w();
      });
  }

  /** Take back every waiting job (shutdown hands them back to the broker). */
  takeWaiting(): T[] {
    return this.#waiting.drain();
  }

  /** Resolves when nothing runs and nothing waits. */
  onIdle(): Promise<void> {
    if (this.#active === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}
