/**
 * Which bound queues a routing key reaches on an exchange, by AMQP's rules: fanout ignores the
 * key, direct compares it exactly, topic matches `*` (one word) and `#` (zero or more).
 */
import type { ExchangeType } from '../../core/broker.js';
import type { Binding } from './driver.js';
import { topicMatches } from './topic.js';

/** The queues (each once) whose bindings match `routingKey`. */
export function matchBindings(type: ExchangeType, bindings: readonly Binding[], routingKey: string): string[] {
  const queues = new Set<string>();
  for (const b of bindings) {
    if (type === 'fanout' || (type === 'topic' || b.topic ? topicMatches(b.key, routingKey) : b.key === routingKey)) queues.add(b.queue);
  }
  return [...queues];
}
