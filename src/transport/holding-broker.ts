/**
 * A broker that holds the process alive exactly while it has something to do: an operation in
 * flight, or a consumer that is not `background`. The adapters unref their sockets, watchers and
 * timers, so a client with nothing pending lets the process end (see util/keep-alive.ts).
 */
import type {
  Broker,
  BrokerEvents,
  ConsumeOptions,
  Consumer,
  DeliveryHandler,
  ExchangeType,
  OutgoingMessage,
  PublishOptions,
  QueueOptions,
} from '../core/broker.js';
import { holdProcess, whileHolding } from '../util/keep-alive.js';

/** Wrap `broker` so that pending work, not idle connections, keeps the process alive. */
export function holdingBroker(broker: Broker): Broker {
  return broker instanceof HoldingBroker ? broker : new HoldingBroker(broker);
}

class HoldingBroker implements Broker {
  readonly #inner: Broker;
  /** Releases of the consumers that keep the process alive, dropped when they are cancelled. */
  readonly #consumerHolds = new Set<() => void>();

  constructor(inner: Broker) {
    this.#inner = inner;
  }

  get displayUrl(): string {
    return this.#inner.displayUrl;
  }
  get transport(): string {
    return this.#inner.transport;
  }
  get capabilities(): Broker['capabilities'] {
    return this.#inner.capabilities;
  }

  connect(): Promise<void> {
    return whileHolding(() => this.#inner.connect());
  }

  async close(): Promise<void> {
    try {
      await whileHolding(() => this.#inner.close());
    } finally {
      for (const release of this.#consumerHolds) release();
      this.#consumerHolds.clear();
    }
  }

  declareQueue(name: string, options?: QueueOptions): Promise<void> {
    return whileHolding(() => this.#inner.declareQueue(name, options));
  }
  declareExchange(name: string, type: ExchangeType, options?: { durable?: boolean; autoDelete?: boolean }): Promise<void> {
    return whileHolding(() => this.#inner.declareExchange(name, type, options));
  }
  bindQueue(queue: string, exchange: string, routingKey: string): Promise<void> {
    return whileHolding(() => this.#inner.bindQueue(queue, exchange, routingKey));
  }
  bindNativeDelayedDelivery(queue: string): Promise<void> {
    const inner = this.#inner;
    // Optional in the port: a no-op for brokers without native delayed delivery.
    return inner.bindNativeDelayedDelivery ? whileHolding(() => inner.bindNativeDelayedDelivery!(queue)) : Promise.resolve();
  }
  deleteQueue(name: string): Promise<void> {
    return whileHolding(() => this.#inner.deleteQueue(name));
  }
  queueSize(name: string): Promise<number | undefined> {
    return whileHolding(() => this.#inner.queueSize(name));
  }
  purgeQueue(name: string): Promise<number> {
    return whileHolding(() => this.#inner.purgeQueue(name));
  }
  publish(exchange: string, routingKey: string, message: OutgoingMessage, options?: PublishOptions): Promise<void> {
    // Held until confirmed: `add.delay()` without await at a script's end still reaches the broker.
    return whileHolding(() => this.#inner.publish(exchange, routingKey, message, options));
  }

  async consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    // Held while subscribing, and for the consumer's life unless it is a background one.
    const release = holdProcess();
    let consumer: Consumer;
    try {
      consumer = await this.#inner.consume(queue, options, handler);
    } catch (err) {
      release();
      throw err;
    }
    if (options.background) release();
    else this.#consumerHolds.add(release);
    return {
      tag: consumer.tag,
      cancel: async () => {
        try {
          await whileHolding(() => consumer.cancel());
        } finally {
          release();
          this.#consumerHolds.delete(release);
        }
      },
    };
  }

  on<E extends keyof BrokerEvents>(event: E, listener: BrokerEvents[E]): this {
    this.#inner.on(event, listener);
    return this;
  }
  off<E extends keyof BrokerEvents>(event: E, listener: BrokerEvents[E]): this {
    this.#inner.off(event, listener);
    return this;
  }
}
