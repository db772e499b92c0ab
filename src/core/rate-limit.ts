import { InvalidRateLimitError } from './errors.js';

/** Parse Celery's rate limit string into tasks per second; null/'' / 0 means no limit. */
export function parseRateLimit(value: string | number | null | undefined): number | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'number') return value > 0 ? value : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh]))?\s*$/.exec(value);
  if (!m) throw new InvalidRateLimitError(value);
  const n = Number(m[1]);
  if (n === 0) return null;
  const per = m[2] === 'm' ? 60 : m[2] === 'h' ? 3600 : 1;
  return n / per;
}

/**
 * A token bucket: `rate` tokens per second, burst of `capacity`. `wait()` says how long until
 * the next token without consuming; `take()` consumes one when available.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;
  constructor(
    public rate: number,
    readonly capacity = 1,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#tokens = capacity;
    this.#last = now();
  }

  #refill(): void {
    const t = this.now();
    this.#tokens = Math.min(this.capacity, this.#tokens + ((t - this.#last) / 1000) * this.rate);
    this.#last = t;
  }

  /** Take a token if one is available. */
  take(): boolean {
    this.#refill();
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until a token will be available. */
  wait(): number {
    this.#refill();
    return this.#tokens >= 1 ? 0 : ((1 - this.#tokens) / this.rate) * 1000;
  }
}
