import { parseRateLimit, TokenBucket } from '../core/rate-limit.js';
import { Deque } from '../util/deque.js';

interface Lane<T> {
  bucket: TokenBucket;
  waiting: Deque<T>;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Per-task rate limits for one worker, as in Celery ('10/s', '100/m', '1000/h'). A limited
 * request waits in its task's lane without holding a pool slot, so other tasks keep running.
 * One timer per lane, never one per message.
 */
export class RateLimiter<T> {
  readonly #lanes = new Map<string, Lane<T>>();

  constructor(
    private readonly release: (item: T) => void,
    /** False turns the whole subsystem off (disableRateLimits). */
    readonly enabled: boolean,
  ) {}

  /** Set or clear a task's limit; waiting requests are re-timed. */
  setLimit(taskName: string, limit: string | number | null | undefined): void {
    const rate = parseRateLimit(limit);
    const lane = this.#lanes.get(taskName);
    if (rate === null) {
      if (lane) {
        this.#lanes.delete(taskName);
        if (lane.timer) clearTimeout(lane.timer);
        for (const item of lane.waiting.drain()) this.release(item);
      }
      return;
    }
    if (lane) {
      lane.bucket.rate = rate;
      // The timer was set for the old rate (maybe an hour away): set it again for the new one.
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = undefined;
      this.#schedule(lane);
    } else this.#lanes.set(taskName, { bucket: new TokenBucket(rate), waiting: new Deque(), timer: undefined });
  }

  /** Let `item` through now, or queue it until its task has a token. */
  admit(taskName: string, item: T): void {
    const lane = this.enabled ? this.#lanes.get(taskName) : undefined;
    if (!lane) return this.release(item);
    if (lane.waiting.length === 0 && lane.bucket.take()) return this.release(item);
    lane.waiting.push(item);
    this.#schedule(lane);
  }

  #schedule(lane: Lane<T>): void {
    if (lane.timer || lane.waiting.length === 0) return;
    lane.timer = setTimeout(
      () => {
        lane.timer = undefined;
        while (lane.waiting.length && lane.bucket.take()) this.release(lane.waiting.shift()!);
        this.#schedule(lane);
      },
      Math.max(1, Math.ceil(lane.bucket.wait())),
    );
  }

  /** Requests held back by limits. */
  *held(): IterableIterator<T> {
    for (const lane of this.#lanes.values()) yield* lane.waiting;
  }

  /** Take back every held request and stop all timers (shutdown). */
  takeHeld(): T[] {
    const out: T[] = [];
    for (const lane of this.#lanes.values()) {
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = undefined;
      out.push(...lane.waiting.drain());
    }
    return out;
  }
}
