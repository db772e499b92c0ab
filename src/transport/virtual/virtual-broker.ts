/**
 * The virtual AMQP layer: the `Broker` port (src/core/broker.ts) over any StorageDriver
 * (driver.ts), as kombu's virtual transport does for Redis, SQS or files. Written once here:
 *
 * - routing: the default exchange "" names the queue; direct, topic (AMQP `*` / `#`) and
 *   fanout exchanges route through the driver's bindings; fanout goes over publish/subscribe
 *   where the driver says so (kombu's Redis);
 * - declarations: options a driver cannot honour are refused with a BrokerError naming the
 *   capability (see BrokerCapabilities), never silently ignored; exclusive / autoDelete / expiring
 *   queues declared here are deleted on close, like an AMQP connection's;
 * - consuming (virtual-consumer.ts): the prefetch window, delivery objects, ack / reject /
 *   requeue, dead-lettering of rejected and expired messages, the redelivered flag;
 * - delays (`delayMs`, default exchange only): handed to the driver with a due time.
 *
 * Lifecycle: new --connect()--> open --close()--> closing --> closed (never reopened).
 */
import { EventEmitter } from 'node:events';
import type {
  Broker,
  BrokerCapabilities,
  ConsumeOptions,
  Consumer,
  DeliveryHandler,
  ExchangeType,
  OutgoingMessage,
  PublishOptions,
  QueueOptions,
} from '../../core/broker.js';
import { BrokerError } from '../../core/errors.js';
import { publishDelay } from '../publish-delay.js';
import type { StorageDriver, StoredMessage, Subscription } from './driver.js';
import { type BrokerLogger, ProblemLog } from './problem-log.js';
import { matchBindings } from './routing.js';
import { VirtualConsumer, type ConsumerHost } from './virtual-consumer.js';

/** Queues that live only as long as the broker that declared them. */
function isOwned(o: QueueOptions): boolean {
  return o.exclusive === true || o.autoDelete === true || o.expiresMs !== undefined;
}

/** Refuse what the driver cannot do; see BrokerCapabilities. */
function checkOptions(name: string, o: QueueOptions, caps: BrokerCapabilities, transport: string): void {
  const refuse = (what: string): never => {
    throw new BrokerError(`queue '${name}': the ${transport} broker does not support ${what}`);
  };
  if (o.queueType === 'quorum' && !caps.quorumQueues) refuse("queueType 'quorum'");
  if ((o.deliveryLimit !== undefined || o.deadLetterStrategy !== undefined) && !caps.quorumQueues)
    refuse('deliveryLimit and deadLetterStrategy (quorum queues)');
  if (o.overflow !== undefined) refuse('overflow');
  if ((o.deadLetterExchange !== undefined || o.deadLetterRoutingKey !== undefined) && !caps.deadLetter) refuse('dead-letter exchanges');
  if (o.messageTtlMs !== undefined && !caps.messageTtl) refuse('messageTtlMs (message expiry)');
  if (o.expiresMs !== undefined && !caps.queueExpiry) refuse('expiresMs (queue expiry)');
  if (o.exclusive && !caps.exclusiveQueues) refuse('exclusive queues');
  if (o.maxPriority !== undefined && caps.priority === 'none') refuse('priorities (maxPriority)');
}

/** A broker made of the virtual layer and one storage driver. */
export class VirtualBroker extends EventEmitter implements Broker, ConsumerHost {
  readonly #driver: StorageDriver;
  readonly #problems: ProblemLog;
  #state: 'new' | 'open' | 'closing' | 'closed' = 'new';
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  readonly #consumers = new Set<VirtualConsumer>();
  readonly #ownedHere = new Set<string>();
  /** Pub/sub fanout bindings made through this broker, per queue (kombu keeps them per process too). */
  readonly #subscriptions = new Map<string, Subscription[]>();
  readonly #publishing = new Set<Promise<void>>();

  constructor(driver: StorageDriver, options: { logger?: BrokerLogger | undefined } = {}) {
    super();
    this.#driver = driver;
    this.#problems = new ProblemLog(options.logger, { broker: driver.displayUrl });
  }

  get displayUrl(): string {
    return this.#driver.displayUrl;
  }
  get transport(): string {
    return this.#driver.transport;
  }
  get capabilities(): BrokerCapabilities {
    return this.#driver.capabilities;
  }

  connect(): Promise<void> {
    if (this.#state !== 'new') {
      return this.#state === 'open' ? Promise.resolve() : Promise.reject(new BrokerError(`broker ${this.displayUrl} was closed; make a new one`));
    }
    const events = {
      disconnected: (err: Error | undefined) => void this.emit('disconnected', err),
      reconnected: () => void this.emit('reconnected'),
    };
    this.#connecting ??= this.#driver.connect(events).then(() => {
      if (this.#state === 'new') this.#state = 'open';
    });
    return this.#connecting;
  }

  /** Cancel consumers (their unacked deliveries go back), wait for publishes, delete owned queues. */
  close(): Promise<void> {
    if (this.#state === 'new') {
      this.#state = 'closed';
      // Closed while connecting: close the driver once it is up, so it leaves no connection or timer.
      if (this.#connecting) {
        this.#closing ??= this.#connecting.then(
          () => this.#driver.close(),
          () => undefined,
        );
        return this.#closing;
      }
    }
    if (this.#state === 'closed') return this.#closing ?? Promise.resolve();
    this.#closing ??= (async () => {
      this.#state = 'closing';
      await Promise.allSettled([...this.#consumers].map((c) => c.close()));
      await Promise.allSettled([...this.#publishing]);
      for (const q of this.#ownedHere) await this.#driver.deleteQueue(q).catch((e: unknown) => this.reportProblem('deleting an owned queue failed', e));
      this.#problems.flush();
      await this.#driver.close();
      this.#state = 'closed';
    })();
    return this.#closing;
  }

  async declareQueue(name: string, options: QueueOptions = {}): Promise<void> {
    this.#ensureOpen();
    if (name === '') throw new BrokerError('a queue needs a non-empty name');
    checkOptions(name, options, this.capabilities, this.transport);
    const owned = await this.#driver.declareQueue(name, options);
    if (owned ?? isOwned(options)) this.#ownedHere.add(name);
  }

  async declareExchange(name: string, type: ExchangeType, options: { durable?: boolean; autoDelete?: boolean } = {}): Promise<void> {
    this.#ensureOpen();
    if (name === '') throw new BrokerError('The default exchange "" cannot be declared');
    await this.#driver.declareExchange(name, type, options);
  }

  async bindQueue(queue: string, exchange: string, routingKey: string): Promise<void> {
    this.#ensureOpen();
    if (exchange === '') throw new BrokerError('Queues cannot be bound to the default exchange ""');
    if (!(await this.#driver.queueOptions(queue))) throw new BrokerError(`Cannot bind queue '${queue}': it does not exist`);
    const type = await this.#driver.exchangeType(exchange);
    if (!type) throw new BrokerError(`Cannot bind to exchange '${exchange}': it does not exist`);
    await this.#driver.bind(queue, exchange, routingKey, type);
    if (type === 'fanout' && this.#driver.fanoutOverPubSub) {
      const subs = this.#subscriptions.get(queue) ?? [];
      if (!subs.some((s) => s.exchange === exchange && s.key === routingKey)) subs.push({ exchange, key: routingKey });
      this.#subscriptions.set(queue, subs);
    }
  }

  async deleteQueue(name: string): Promise<void> {
    this.#ensureOpen(true);
    this.#ownedHere.delete(name);
    this.#subscriptions.delete(name);
    await this.#driver.deleteQueue(name);
  }

  async queueSize(name: string): Promise<number | undefined> {
    this.#ensureOpen();
    return this.#driver.size(name);
  }

  async purgeQueue(name: string): Promise<number> {
    this.#ensureOpen();
    return this.#driver.purge(name);
  }

  publish(exchange: string, routingKey: string, message: OutgoingMessage, options?: PublishOptions): Promise<void> {
    let p: Promise<void>;
    try {
      this.#ensureOpen();
      const delayMs = publishDelay(exchange, options);
      p = this.#route(exchange, routingKey, { exchange, routingKey, ...message }, delayMs > 0 ? Date.now() + Math.ceil(delayMs) : undefined);
    } catch (err) {
      return Promise.reject(err); // callers chain on the promise, as on the amqp adapter
    }
    this.#publishing.add(p);
    const untrack = (): void => void this.#publishing.delete(p);
    p.then(untrack, untrack);
    return p;
  }

  async consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    this.#ensureOpen();
    const queueOptions = await this.#driver.queueOptions(queue);
    if (!queueOptions) throw new BrokerError(`Cannot consume from queue '${queue}': it does not exist`);
    const consumer = new VirtualConsumer(this, queue, queueOptions, options, handler);
    this.#consumers.add(consumer);
    try {
      await consumer.start(this.#driver, this.#subscriptions.get(queue) ?? []);
    } catch (err) {
      this.#consumers.delete(consumer);
      throw err;
    }
    return consumer;
  }

  /** @internal ConsumerHost: the queue's current options (dead-letter settings may be set by another process). */
  queueOptions(queue: string): Promise<QueueOptions | undefined> {
    return this.#driver.queueOptions(queue);
  }

  /** @internal ConsumerHost: publish a rejected or expired message to its dead-letter exchange. */
  deadLetter(options: QueueOptions, m: StoredMessage): Promise<void> {
    const { expiration: _dropped, ...properties } = m.properties; // AMQP drops it when dead-lettering
    const exchange = options.deadLetterExchange ?? '';
    const routingKey = options.deadLetterRoutingKey ?? m.routingKey;
    return this.#route(exchange, routingKey, { exchange, routingKey, headers: m.headers, properties, body: m.body }, undefined);
  }

  /** @internal ConsumerHost: the consumer stopped. */
  forget(consumer: VirtualConsumer): void {
    this.#consumers.delete(consumer);
  }

  /** @internal Log a repeating problem once, then a summary (see ProblemLog). */
  reportProblem(condition: string, err: unknown): void {
    this.#problems.report(condition, err);
  }

  async #route(exchange: string, routingKey: string, m: StoredMessage, dueAt: number | undefined): Promise<void> {
    if (exchange === '') return this.#driver.put([routingKey], m, dueAt);
    const type = await this.#driver.exchangeType(exchange);
    if (!type) throw new BrokerError(`Cannot publish to exchange '${exchange}': it does not exist`);
    if (type === 'fanout' && this.#driver.fanoutOverPubSub) return this.#driver.publishFanout!(exchange, routingKey, m);
    const queues = matchBindings(type, await this.#driver.bindings(exchange), routingKey);
    if (queues.length === 0) return; // unroutable: dropped, as AMQP does without `mandatory`
    return this.#driver.put(queues, m, dueAt);
  }

  #ensureOpen(closingOk = false): void {
    if (this.#state === 'open' || (closingOk && this.#state === 'closing')) return;
    throw new BrokerError(`broker ${this.displayUrl} is ${this.#state === 'new' ? 'not connected' : 'closed'}`);
  }
}
