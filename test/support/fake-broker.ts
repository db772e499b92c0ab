/**
 * A Broker (src/core/broker.ts) that routes nothing: it records what is published and
 * declared, and hands each consumer's handler to the test, which delivers FakeDeliveries by
 * hand and reads back what the code under test acked, rejected and published. For unit tests
 * of the worker's core without any broker; written against the port only, so it survives
 * changes behind it.
 */
import { EventEmitter } from 'node:events';
import type {
  Broker,
  BrokerCapabilities,
  BrokerEvents,
  Consumer,
  ConsumeOptions,
  Delivery,
  DeliveryHandler,
  OutgoingMessage,
  PublishOptions,
  QueueOptions,
} from '../../src/core/broker.js';
import { BrokerError } from '../../src/core/errors.js';

/** One publish as the code under test made it. */
export interface Published {
  exchange: string;
  routingKey: string;
  message: OutgoingMessage;
  options: PublishOptions | undefined;
}

/** A delivery whose settlement the test can read. */
export class FakeDelivery implements Delivery {
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  stale = false;
  acks = 0;
  /** undefined until rejected; then the requeue flag. */
  rejected: boolean | undefined = undefined;

  constructor(
    readonly body: Buffer,
    readonly headers: OutgoingMessage['headers'],
    readonly properties: OutgoingMessage['properties'],
    where: { exchange?: string; routingKey: string; redelivered?: boolean },
  ) {
    this.exchange = where.exchange ?? '';
    this.routingKey = where.routingKey;
    this.redelivered = where.redelivered ?? false;
  }

  /** Acked or rejected, once. */
  get settled(): boolean {
    return this.acks > 0 || this.rejected !== undefined;
  }

  ack(): void {
    this.acks++;
  }

  reject(requeue: boolean): void {
    this.rejected = requeue;
  }
}

/** See the file comment. */
export class FakeBroker extends EventEmitter implements Broker {
  readonly displayUrl = 'fake://';
  readonly transport = 'fake';
  /** AMQP's: a lost connection voids deliveries, fanout copies into queues. */
  readonly capabilities: BrokerCapabilities = {
    priority: 'higher-first',
    messageTtl: true,
    queueExpiry: true,
    exclusiveQueues: true,
    quorumQueues: true,
    deadLetter: true,
    exactDelay: false,
    visibilityTimeoutMs: undefined,
    deliveriesSurviveDisconnect: false,
    fanout: 'queued',
  };
  readonly published: Published[] = [];
  readonly declared = new Map<string, QueueOptions | undefined>();
  readonly handlers = new Map<string, DeliveryHandler>();
  /** Make publishes to matching routing keys fail (rejected promise), to test the failure paths. */
  failPublish: ((p: Published) => boolean) | undefined;
  connected = false;

  async connect(): Promise<void> {
    this.connected = true;
  }

  async close(): Promise<void> {
    this.connected = false;
    this.handlers.clear();
  }

  async declareQueue(name: string, options?: QueueOptions): Promise<void> {
    this.declared.set(name, options);
  }

  async declareExchange(): Promise<void> {}

  async bindQueue(): Promise<void> {}

  async deleteQueue(name: string): Promise<void> {
    this.declared.delete(name);
  }

  async queueSize(name: string): Promise<number | undefined> {
    return this.declared.has(name) ? 0 : undefined;
  }

  async purgeQueue(): Promise<number> {
    return 0;
  }

  publish(exchange: string, routingKey: string, message: OutgoingMessage, options?: PublishOptions): Promise<void> {
    const p = { exchange, routingKey, message, options };
    if (!this.connected) return Promise.reject(new BrokerError('fake broker: not connected'));
    if (this.failPublish?.(p)) return Promise.reject(new BrokerError(`fake broker: publish to '${routingKey}' refused`));
    this.published.push(p);
    return Promise.resolve();
  }

  async consume(queue: string, _options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    this.handlers.set(queue, handler);
    return {
      tag: `fake-${queue}`,
      cancel: async () => {
        if (this.handlers.get(queue) === handler) this.handlers.delete(queue);
      },
    };
  }

  /** Hand a message to the consumer of `queue`, as the broker would. */
  deliver(queue: string, message: OutgoingMessage, extra: { redelivered?: boolean; exchange?: string } = {}): FakeDelivery {
    const handler = this.handlers.get(queue);
    if (!handler) throw new Error(`fake broker: nobody consumes '${queue}' (consumed: ${[...this.handlers.keys()].join(', ')})`);
    const d = new FakeDelivery(message.body, message.headers, message.properties, { routingKey: queue, ...extra });
    void handler(d);
    return d;
  }

  /** What was published to a routing key (a reply queue, a task queue). */
  to(routingKey: string): Published[] {
    return this.published.filter((p) => p.routingKey === routingKey);
  }

  override on<E extends keyof BrokerEvents>(event: E, listener: BrokerEvents[E]): this {
    return super.on(event, listener);
  }

  override off<E extends keyof BrokerEvents>(event: E, listener: BrokerEvents[E]): this {
    return super.off(event, listener);
  }
}
