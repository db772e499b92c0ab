/**
 * The rule both broker adapters apply to `PublishOptions.delayMs` (src/core/broker.ts), so a
 * delayed publish is refused or accepted the same way whichever broker carries it.
 */
import type { PublishOptions } from '../core/broker.js';
import { BrokerError } from '../core/errors.js';

/**
 * The delay a publish asks for, in ms; 0 means "publish now" (no delayMs, or one <= 0).
 * Throws BrokerError for a delay that is not a finite number, and for a delay on any exchange
 * but the default one: a delayed message comes back through the default exchange, which
 * routes by queue name, so on another exchange it would reach the wrong queue or none (and a
 * silently ignored delay would hand an early task straight back to the worker that parked it).
 */
export function publishDelay(exchange: string, options: PublishOptions | undefined): number {
  const delayMs = options?.delayMs;
  if (delayMs === undefined || delayMs <= 0) return 0;
  if (!Number.isFinite(delayMs)) throw new BrokerError(`publish: delayMs must be a finite number of ms, got ${delayMs}`);
  if (exchange !== '') {
    throw new BrokerError(`publish: delayMs is only supported on the default exchange "", not on exchange '${exchange}'`);
  }
  return delayMs;
}
