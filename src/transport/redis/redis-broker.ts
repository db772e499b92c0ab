/**
 * The Redis broker: the virtual AMQP layer over the Redis driver (kombu's layout). Usage:
 * `createRedisBroker('redis://:pw@host:6379/0', { visibilityTimeout: 3600 })`.
 */
import type { Broker } from '../../core/broker.js';
import { VirtualBroker } from '../virtual/virtual-broker.js';
import { RedisDriver, type RedisDriverOptions } from './redis-driver.js';

/** A Redis broker for a redis://, rediss://, redis+socket:// or sentinel:// URL (not yet connected). */
export function createRedisBroker(url: string, options: RedisDriverOptions = {}): Broker {
  return new VirtualBroker(new RedisDriver(url, options), { logger: options.logger });
}
