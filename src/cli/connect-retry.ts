/**
 * A worker started before its broker (docker-compose, a host booting) waits for it, as Celery's
 * worker does (broker_connection_retry_on_startup): one log line per failed attempt, backoff
 * doubling from 1 s to 30 s, at most brokerConnectionMaxRetries retries (0: forever), then the
 * last error. Only broker errors are retried; a config error is reported at once.
 */
import type { App } from '../app.js';
import type { Broker } from '../core/broker.js';
import { BrokerError } from '../core/errors.js';
import { maskUrl } from '../util/mask-url.js';

/** Seconds before retry number `n` (1-based). */
export function retryDelaySeconds(n: number): number {
  return Math.min(30, 2 ** (n - 1));
}

/** Connect the app's broker, retrying per the config; `retry: false` (--no-retry-on-startup) tries once. */
export async function connectWithRetry(app: App, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))): Promise<Broker> {
  const { brokerConnectionRetryOnStartup: retry, brokerConnectionMaxRetries: max } = app.config;
  for (let attempt = 1; ; attempt++) {
    try {
      return await app.broker();
    } catch (err) {
      const retries = attempt - 1;
      if (!(err instanceof BrokerError) || !retry || (max > 0 && retries >= max)) throw err;
      const delay = retryDelaySeconds(attempt);
      const reason = err.message.replace(/^cannot connect to the broker \([^)]*\): /, '');
      app.log.error(
        { broker: maskUrl(app.config.brokerUrl), attempt, maxRetries: max || null, delaySeconds: delay },
        `Cannot connect to ${maskUrl(app.config.brokerUrl)}: ${reason}. Trying again in ${delay.toFixed(2)} seconds... (${attempt}/${max || 'forever'})`,
      );
      await sleep(delay * 1000);
    }
  }
}
