/**
 * The storage-driver interface under the virtual AMQP layer (virtual-broker.ts), in the shape of
 * kombu's virtual transport: the layer implements AMQP's semantics once (exchanges, bindings and
 * routing, the prefetch window, ack / reject / requeue, dead-lettering, expiry, delays, the
 * redelivered flag, refusing options a driver lacks); a driver only stores and moves messages.
 *
 * Glossary:
 * - queue meta: the options a queue was declared with, as the driver keeps them.
 * - raw message: what a driver hands up, with its `handle` (the driver's receipt for settling).
 * - credit: how many more messages a consumer may take now (prefetch minus unsettled);
 *   the layer owns it, the driver asks for it before each take.
 */
import type { BrokerCapabilities, ExchangeType, Headers, MessageProperties, QueueOptions } from '../../core/broker.js';

/** A message as drivers store it. */
export interface StoredMessage {
  exchange: string;
  routingKey: string;
  headers: Headers;
  properties: MessageProperties;
  body: Buffer;
}

/** One binding of a queue to an exchange, as stored. */
export interface Binding {
  queue: string;
  key: string;
  /** Match `key` as a topic pattern whatever the exchange's type (kombu stored a regex for it). */
  topic?: boolean;
}

/** What a driver tells its broker about its connection. */
export interface DriverEvents {
  disconnected(err: Error | undefined): void;
  reconnected(): void;
}

/** A message a driver took for a consumer. */
export interface RawDelivery extends StoredMessage {
  /** The driver's receipt: passed back to settle. */
  readonly handle: unknown;
  readonly redelivered: boolean;
  /** When it entered its queue (ms since the epoch), where the driver knows: for TTLs. */
  readonly enqueuedAt?: number | undefined;
}

/** How a delivery is settled. 'remove' drops it (after any dead-lettering, done by the layer). */
export type Settlement = 'ack' | 'requeue' | 'remove';

/** What a driver's consumer needs from the layer. */
export interface ConsumerSink {
  /** How many messages may be taken now (Infinity for noAck or prefetch 0). */
  credit(): number;
  /** Hand one taken message up; the layer calls settle() for it later (unless noAck). */
  deliver(message: RawDelivery): void;
  /** A problem the driver could not return to anyone. */
  reportError(err: unknown): void;
}

/** One queue's consumer inside a driver. */
export interface DriverConsumer {
  /** Credit grew (a settle freed room): take more if there is anything. */
  wake(): void;
  /**
   * Settle one delivery. Undefined when done (or when failure cannot be reported), else a
   * promise that rejects when the store refused (the message is then still held).
   */
  settle(handle: unknown, how: Settlement): void | Promise<void>;
  /** Restart the visibility timeout of one held delivery (drivers that have one): see Delivery.touch. */
  touch?(handle: unknown): Promise<void>;
  /** Stop taking; handed-out messages stay settleable. */
  cancel(): Promise<void>;
  /** Cancel, then give every unsettled message back to its queue (marked redelivered). */
  close(): Promise<void>;
}

/** Fanout delivery over publish/subscribe (Redis): exchange name and binding key of a subscription. */
export interface Subscription {
  exchange: string;
  key: string;
}

/** A storage driver. All methods may assume connect() resolved. */
export interface StorageDriver {
  /** Transport name as Celery reports it. */
  readonly transport: string;
  /** The URL with any password masked. */
  readonly displayUrl: string;
  readonly capabilities: BrokerCapabilities;
  /**
   * Fanout exchanges travel over the store's publish/subscribe (kombu's Redis) instead of being
   * copied into each bound queue: queues bound to them are subscriptions, live only while
   * consumed, and their messages need no ack.
   */
  readonly fanoutOverPubSub: boolean;

  /** Connect; `events` hears about connection loss and recovery from then on. */
  connect(events: DriverEvents): Promise<void>;
  close(): Promise<void>;

  /**
   * Record a queue (idempotent: the first declaration's options win). Drivers with exclusive
   * queues (the file broker) may resolve whether this connection now owns the queue: false when
   * another live process declared it, true when it is ours (declared or adopted from a dead
   * owner), so the layer deletes on close only what is its own; undefined lets the layer decide from
   * `options` (exclusive / autoDelete / expiresMs), as an AMQP connection does.
   */
  declareQueue(name: string, options: QueueOptions): Promise<boolean | undefined>;
  /** The options a queue was declared with; undefined if it does not exist. */
  queueOptions(name: string): Promise<QueueOptions | undefined>;
  deleteQueue(name: string): Promise<void>;
  /** Ready messages; undefined if the queue does not exist. */
  size(name: string): Promise<number | undefined>;
  purge(name: string): Promise<number>;

  /** Record an exchange; redeclaring with another type rejects. */
  declareExchange(name: string, type: ExchangeType, options: { durable?: boolean; autoDelete?: boolean }): Promise<void>;
  /** The exchange's type; undefined if unknown to this store. */
  exchangeType(name: string): Promise<ExchangeType | undefined>;
  bind(queue: string, exchange: string, key: string, type: ExchangeType): Promise<void>;
  bindings(exchange: string): Promise<Binding[]>;

  /**
   * Put one message into each queue (already routed). With `dueAt` (ms since the epoch) the
   * copies are held back until then. Resolves once the store has them.
   */
  put(queues: readonly string[], message: StoredMessage, dueAt?: number): Promise<void>;
  /** Publish to a pub/sub fanout exchange (fanoutOverPubSub drivers only). */
  publishFanout?(exchange: string, routingKey: string, message: StoredMessage): Promise<void>;

  /** Start a consumer of `queue`; `subscriptions` for queues bound to pub/sub fanout exchanges. */
  consume(queue: string, options: { noAck: boolean; subscriptions: Subscription[] }, sink: ConsumerSink): Promise<DriverConsumer>;
}
