/**
 * Which broker node of a URL list to try next (Celery's broker_failover_strategy): kombu
 * cycles through its alternates in order ('round-robin') or in an order shuffled anew on every
 * pass ('shuffle', which spreads a fleet of workers over the nodes instead of all on the first).
 */

/** The strategies Celery names. */
export type FailoverStrategy = 'round-robin' | 'shuffle';

/** The failover strategies, for config validation. */
export const FAILOVER_STRATEGIES: readonly FailoverStrategy[] = ['round-robin', 'shuffle'];

/** An endless walk over node indexes 0..count-1. */
export class NodeCycle {
  readonly #order: number[];
  readonly #strategy: FailoverStrategy;
  readonly #random: () => number;
  #pos = 0;

  constructor(count: number, strategy: FailoverStrategy, random: () => number = Math.random) {
    this.#order = Array.from({ length: count }, (_, i) => i);
    this.#strategy = strategy;
    this.#random = random;
    if (strategy === 'shuffle') this.#shuffle();
  }

  /** How many nodes there are. */
  get size(): number {
    return this.#order.length;
  }

  /** The node to use now. */
  get current(): number {
    return this.#order[this.#pos]!;
  }

  /** Move on to the next node (after a failed attempt or a lost connection) and return it. */
  next(): number {
    const previous = this.current;
    this.#pos = (this.#pos + 1) % this.#order.length;
    if (this.#pos === 0 && this.#strategy === 'shuffle') {
      this.#shuffle();
      // A new pass must not start with the node that just failed (when there is another).
      if (this.#order.length > 1 && this.current === previous) [this.#order[0], this.#order[1]] = [this.#order[1]!, this.#order[0]!];
    }
    return this.current;
  }

  /** Fisher-Yates. */
  #shuffle(): void {
    const a = this.#order;
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(this.#random() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
  }
}
