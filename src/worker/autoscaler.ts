/**
 * `--autoscale MAX,MIN`, as Celery's Autoscaler: once a second, grow the async pool to the work
 * at hand (running + waiting for a slot, at most MAX) at once; shrink it towards the work (at
 * least MIN) only after `keepalive` seconds without growing, so a burst does not thrash it.
 *
 *   work > size, size < max   ─▶ size = min(work, max)             (remember when)
 *   work < size, size > min   ─▶ size = max(work, min)             (if keepalive passed)
 *
 * Prefetch is MAX x multiplier, as Celery sets it, so there is work to grow into.
 */
import type { Logger } from '../logging/logger.js';

/** The pool, as the autoscaler sees it. */
export interface ScalablePool {
  readonly concurrency: number;
  readonly active: number;
  readonly waitingCount: number;
  resize(n: number): void;
}

/** Grows and shrinks a pool with its load. */
export class Autoscaler {
  #timer: NodeJS.Timeout | undefined;
  #lastGrow = 0;

  constructor(
    private readonly pool: ScalablePool,
    public max: number,
    public min: number,
    /** Seconds without growth before shrinking (Celery's AUTOSCALE_KEEPALIVE, 30). */
    private readonly keepalive = 30,
    private readonly log?: Logger,
  ) {
    pool.resize(Math.max(min, 1));
  }

  start(): void {
    this.#timer ??= setInterval(() => this.scale(), 1000).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One step (the timer calls it every second). */
  scale(now = Date.now()): void {
    const size = this.pool.concurrency;
    const work = this.pool.active + this.pool.waitingCount;
    if (work > size && size < this.max) {
      this.#resize(Math.min(work, this.max));
      this.#lastGrow = now;
    } else if (work < size && size > this.min && now - this.#lastGrow > this.keepalive * 1000) {
      this.#resize(Math.max(work, this.min));
    }
  }

  /** The `autoscale` control command: new bounds (either may be left out), the pool kept within them. */
  update(max: number | undefined, min: number | undefined): [number, number] {
    if (max !== undefined) {
      if (max < this.pool.concurrency) this.#resize(max);
      this.max = max;
    }
    if (min !== undefined) {
      if (min > this.pool.concurrency) this.#resize(min);
      this.min = min;
    }
    return [this.max, this.min];
  }

  /** What `inspect stats` lists under `autoscaler` (Celery's Autoscaler.info()). */
  info(): { max: number; min: number; current: number; qty: number } {
    return { max: this.max, min: this.min, current: this.pool.concurrency, qty: this.pool.active + this.pool.waitingCount };
  }

  #resize(n: number): void {
    const from = this.pool.concurrency;
    this.pool.resize(n);
    this.log?.info({ from, to: this.pool.concurrency }, `Scaling the pool from ${from} to ${this.pool.concurrency}`);
  }
}
