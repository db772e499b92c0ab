import { Deque } from '../util/deque.js';
import { isThenable, type MaybePromise } from '../util/maybe-promise.js';

/**
 * The async pool: at most `concurrency` jobs run at once on the event loop; the rest wait in
 * FIFO order (they are the worker's reserved, prefetched requests).
 *
 * `run` may finish synchronously (a plain task does: see executeJob); its slot is then free
 * at once and the next waiting job starts in the same loop, not in a microtask per job and
 * not by recursion, so a long queue of synchronous jobs cannot grow the stack.
 */
export class AsyncPool<T> {
  #active = 0;
  readonly #waiting = new Deque<T>();
  #idle: (() => void)[] = [];
  /** One function for every asynchronous job's end, not a closure per job. */
  readonly #done = (): void => {
    this.#active--;
    // Below the limit unless the pool was shrunk while this job ran (pool_shrink, autoscale).
    const next = this.#active < this.concurrency ? this.#waiting.shift() : undefined;
    if (next !== undefined) this.#start(next);
    else this.#checkIdle();
  };

  constructor(
    public concurrency: number,
    private readonly run: (item: T) => MaybePromise<void>,
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

  #start(first: T): void {
    for (let item: T | undefined = first; item !== undefined; item = this.#active < this.concurrency ? this.#waiting.shift() : undefined) {
      this.#active++;
      let running: MaybePromise<void>;
      try {
        running = this.run(item);
      } catch {
        running = undefined; // run() reports its own errors; a job never stops the pool
      }
      if (isThenable(running)) {
        running.then(this.#done, this.#done);
        return;
      }
      this.#active--;
      // A slot is free again: the loop hands it to the oldest waiting job, if any.
    }
    this.#checkIdle();
  }

  #checkIdle(): void {
    if (this.#active === 0 && this.#waiting.length === 0) for (const w of this.#idle.splice(0)) w();
  }

  /**
   * Run at most `n` jobs at once from now on (at least 1). Growing starts waiting jobs at once;
   * shrinking lets running jobs finish and starts no new one until fewer than `n` run.
   */
  resize(n: number): void {
    this.concurrency = Math.max(1, Math.floor(n));
    while (this.#active < this.concurrency && this.#waiting.length) this.#start(this.#waiting.shift()!);
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
