/**
 * Reconnect delays: exponential backoff with full jitter (AWS architecture blog, "Exponential
 * Backoff And Jitter"). Full jitter spreads a fleet of workers that lost the same broker at the
 * same instant over the whole window, instead of having them all knock again in lockstep.
 */

/**
 * Delay before reconnect attempt `attempt` (0-based): uniform in [0, min(max, initial * 2^attempt)).
 * The first attempt waits at most `initialMs`, so a brief blip costs almost nothing.
 */
export function fullJitterDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  // Cap the exponent so 2 ** attempt cannot overflow to Infinity after a very long outage.
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
