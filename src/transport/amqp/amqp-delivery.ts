/**
 * A received message as the port describes it. Settling goes through the AckBatcher of the
 * channel incarnation the message arrived on, so a delivery that outlived its channel can
 * never ack a tag on a newer one.
 */
import type { ConsumeMessage } from 'amqplib';
import type { Delivery, Headers, MessageProperties } from '../../core/broker.js';
import type { AckBatcher } from './ack-batcher.js';
import { fromAmqplibHeaders, fromAmqplibProperties } from './mapping.js';

/** The port's Delivery for an amqplib message. */
export class AmqpDelivery implements Delivery {
  readonly body: Buffer;
  readonly headers: Headers;
  readonly properties: MessageProperties;
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  readonly #tag: number;
  /** Undefined for no-ack consumers: the broker already forgot the message. */
  readonly #batcher: AckBatcher | undefined;

  /** Wrap an amqplib message received on the channel that `batcher` settles. */
  constructor(message: ConsumeMessage, batcher: AckBatcher | undefined) {
    this.body = message.content;
    this.headers = fromAmqplibHeaders(message.properties);
    this.properties = fromAmqplibProperties(message.properties);
    this.exchange = message.fields.exchange;
    this.routingKey = message.fields.routingKey;
    this.redelivered = message.fields.redelivered;
    this.#tag = message.fields.deliveryTag;
    this.#batcher = batcher;
  }

  /** The channel this came on is gone: settling is a no-op and RabbitMQ will redeliver. */
  get stale(): boolean {
    return this.#batcher?.dead ?? false;
  }

  /** Acknowledge (batched with the other acks of this event-loop turn). */
  ack(): void {
    this.#batcher?.ack(this.#tag);
  }

  /** basic.nack without `multiple`: requeue, or dead-letter/drop. */
  reject(requeue: boolean): void {
    this.#batcher?.reject(this.#tag, requeue);
  }
}
