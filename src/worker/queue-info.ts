/**
 * A consumed queue as `inspect active_queues` reports it: kombu's `Queue.as_dict(recurse=True)`,
 * the shape Python Celery 5.2 workers reply with (Flower and `celery inspect` read it).
 */
import type { QueueOptions } from '../core/broker.js';
import type { QueueBinding } from './task-consumers.js';

/** kombu's queue dict for `name`, bound by `b`, declared with `options` (config `queues`). */
export function activeQueueInfo(name: string, b: QueueBinding, options: QueueOptions): Record<string, unknown> {
  // What kombu keeps as attributes is reported as such; the rest travels as x-arguments.
  const args: Record<string, unknown> = {};
  if (options.queueType) args['x-queue-type'] = options.queueType;
  if (options.deadLetterExchange !== undefined) args['x-dead-letter-exchange'] = options.deadLetterExchange;
  if (options.deadLetterRoutingKey !== undefined) args['x-dead-letter-routing-key'] = options.deadLetterRoutingKey;
  const seconds = (ms: number | undefined) => (ms === undefined ? null : ms / 1000);
  return {
    name,
    exchange: {
      name: b.exchange,
      type: b.exchangeType,
      arguments: null,
      durable: true,
      passive: false,
      auto_delete: false,
      delivery_mode: null,
      no_declare: false,
    },
    routing_key: b.routingKey,
    queue_arguments: Object.keys(args).length ? args : null,
    binding_arguments: null,
    consumer_arguments: null,
    durable: options.durable ?? true,
    exclusive: options.exclusive ?? false,
    auto_delete: options.autoDelete ?? false,
    no_ack: false,
    alias: null,
    bindings: [],
    no_declare: null,
    expires: seconds(options.expiresMs),
    message_ttl: seconds(options.messageTtlMs),
    max_length: null,
    max_length_bytes: null,
    max_priority: options.maxPriority ?? null,
  };
}
