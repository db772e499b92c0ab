/**
 * Translations between the broker port's shapes and amqplib's. Kept apart from the I/O so the
 * rules (which property goes where, which queue option is which x-argument) read in one place.
 */
import type { MessageProperties as AmqplibProperties, Options } from 'amqplib';
import type { Headers, MessageProperties, OutgoingMessage, QueueOptions } from '../../core/broker.js';
import { toFieldTable } from './field-table.js';

/** amqplib publish options for a port message (same camelCase names, headers alongside). */
export function toPublishOptions(message: OutgoingMessage): Options.Publish {
  const p = message.properties;
  // Numbers typed so Python (py-amqp) reads them back: see field-table.ts.
  const options: Options.Publish = { headers: toFieldTable(message.headers) };
  // Copy only what is set: amqplib would encode an explicit undefined as an absent property
  // anyway, but exactOptionalPropertyTypes forbids writing one.
  if (p.contentType !== undefined) options.contentType = p.contentType;
  if (p.contentEncoding !== undefined) options.contentEncoding = p.contentEncoding;
  if (p.deliveryMode !== undefined) options.deliveryMode = p.deliveryMode;
  if (p.priority !== undefined) options.priority = p.priority;
  if (p.correlationId !== undefined) options.correlationId = p.correlationId;
  if (p.replyTo !== undefined) options.replyTo = p.replyTo;
  if (p.expiration !== undefined) options.expiration = p.expiration;
  if (p.messageId !== undefined) options.messageId = p.messageId;
  return options;
}

/** The port's view of a received message's properties (only those the server sent). */
export function fromAmqplibProperties(p: AmqplibProperties): MessageProperties {
  const out: MessageProperties = {};
  if (typeof p.contentType === 'string') out.contentType = p.contentType;
  if (typeof p.contentEncoding === 'string') out.contentEncoding = p.contentEncoding;
  if (p.deliveryMode === 1 || p.deliveryMode === 2) out.deliveryMode = p.deliveryMode;
  if (typeof p.priority === 'number') out.priority = p.priority;
  if (typeof p.correlationId === 'string') out.correlationId = p.correlationId;
  if (typeof p.replyTo === 'string') out.replyTo = p.replyTo;
  if (typeof p.expiration === 'string') out.expiration = p.expiration;
  if (typeof p.messageId === 'string') out.messageId = p.messageId;
  return out;
}

/** Application headers of a received message ({} when it had none). */
export function fromAmqplibHeaders(p: AmqplibProperties): Headers {
  // amqplib decodes AMQP tables into plain JSON-like values (byte arrays as Buffers, which the
  // port's HeaderValue does not name but Celery never sends).
  return (p.headers ?? {}) as Headers;
}

/** amqplib assertQueue options for port queue options (durable unless told otherwise). */
export function toAssertQueueOptions(options: QueueOptions): Options.AssertQueue {
  const out: Options.AssertQueue = {
    durable: options.durable ?? true,
    autoDelete: options.autoDelete ?? false,
    exclusive: options.exclusive ?? false,
  };
  // The x-arguments written here rather than through amqplib's options (expires, messageTtl,
  // ...), which would type a number 128..32767 as a short: kombu declares these as `I`.
  const args: Record<string, unknown> = {};
  if (options.expiresMs !== undefined) args['x-expires'] = options.expiresMs;
  if (options.messageTtlMs !== undefined) args['x-message-ttl'] = options.messageTtlMs;
  if (options.maxPriority !== undefined) args['x-max-priority'] = options.maxPriority;
  if (options.deadLetterExchange !== undefined) args['x-dead-letter-exchange'] = options.deadLetterExchange;
  if (options.deadLetterRoutingKey !== undefined) args['x-dead-letter-routing-key'] = options.deadLetterRoutingKey;
  if (options.queueType !== undefined) args['x-queue-type'] = options.queueType;
  if (options.overflow !== undefined) args['x-overflow'] = options.overflow;
  // RabbitMQ falls back to at-most-once dead-lettering unless the queue rejects publishes when full.
  else if (options.deadLetterStrategy === 'at-least-once') args['x-overflow'] = 'reject-publish';
  if (options.deliveryLimit !== undefined) args['x-delivery-limit'] = options.deliveryLimit;
  if (options.deadLetterStrategy !== undefined) args['x-dead-letter-strategy'] = options.deadLetterStrategy;
  if (Object.keys(args).length) out.arguments = toFieldTable(args);
  return out;
}
