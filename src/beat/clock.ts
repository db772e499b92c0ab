/** Time as beat sees it: injectable, so tests drive cron minutes and DST days without waiting. */
import { setTimeout as delay } from 'node:timers/promises';

/** A clock. */
export interface Clock {
  /** ms since the epoch. */
  now(): number;
  /** Resolve after `ms` (sooner when `signal` aborts; never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => delay(Math.max(0, Math.min(ms, 2 ** 31 - 1)), undefined, signal ? { signal } : {}).catch(() => undefined),
};
