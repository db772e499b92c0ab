/**
 * Declarations as amqplib calls on a session's admin channel: what the broker's topology
 * methods, the replay after a reconnection and a consumer's queue redeclaration share.
 */
import type { Channel } from 'amqplib';
import { toAssertQueueOptions } from './mapping.js';
import type { AmqpSession } from './session.js';
import type { ExchangeDeclaration, TopologyTarget } from './topology-registry.js';

/** assertExchange with the port's defaults (durable, not auto-delete, as kombu's Exchange). */
export function assertExchange(channel: Channel, e: ExchangeDeclaration): Promise<unknown> {
  return channel.assertExchange(e.name, e.type, { durable: e.options.durable ?? true, autoDelete: e.options.autoDelete ?? false });
}

/** A replay target that declares on `session`'s admin channel. */
export function sessionTopology(session: AmqpSession): TopologyTarget {
  return {
    declareExchange: async (e) => {
      await session.admin((ch) => assertExchange(ch, e));
    },
    declareQueue: async (name, options) => {
      await session.admin((ch) => ch.assertQueue(name, toAssertQueueOptions(options)));
    },
    bindQueue: async (b) => {
      await session.admin((ch) => ch.bindQueue(b.queue, b.exchange, b.routingKey));
    },
  };
}
