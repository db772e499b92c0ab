/**
 * The worker's task-queue consumers: which queues it consumes, how each is bound, and the
 * remote control that changes them while it runs (Celery's add_consumer / cancel_consumer,
 * listed by inspect active_queues).
 *
 *   add(q)    ─▶ declare q (+ its direct exchange q) [+ exchange, binding] ─▶ consume ─▶ listed
 *   cancel(q) ─▶ unlisted at once ─▶ basic.cancel; deliveries already received still run and ack
 */
import type { Broker, Consumer, Delivery, ExchangeType } from '../core/broker.js';
import { BrokerError } from '../core/errors.js';
import type { DeclaredQueues } from '../core/topology.js';

/** How a consumed queue is bound: Celery's default is a direct exchange named as the queue. */
export interface QueueBinding {
  exchange: string;
  exchangeType: ExchangeType;
  routingKey: string;
}

/** What the consumers need from the worker. */
export interface TaskConsumersContext {
  broker: Broker;
  queues: DeclaredQueues;
  prefetch: number;
  onDelivery: (d: Delivery, queue: string) => void;
}

/** Celery's binding for a queue nobody configured: exchange and routing key = its name. */
function defaultBinding(queue: string): QueueBinding {
  return { exchange: queue, exchangeType: 'direct', routingKey: queue };
}

/** The task queues one worker consumes. */
export class TaskConsumers {
  readonly #bindings = new Map<string, QueueBinding>();
  readonly #consumers = new Map<string, Consumer>();
  #ctx: TaskConsumersContext | undefined;
  #open = false;

  constructor(queues: string[]) {
    for (const q of queues) this.#bindings.set(q, defaultBinding(q));
  }

  /** Queue names, in the order they were added. */
  get names(): string[] {
    return [...this.#bindings.keys()];
  }

  /** Each queue with its binding (a copy). */
  bindings(): Map<string, QueueBinding> {
    return new Map(this.#bindings);
  }

  /** Declare every queue (before the worker is ready). */
  async declareAll(ctx: TaskConsumersContext): Promise<void> {
    this.#ctx = ctx;
    for (const [q, b] of this.#bindings) await this.#declare(q, b);
  }

  /** Start consuming every queue. */
  async consumeAll(): Promise<void> {
    this.#open = true;
    for (const [q, b] of this.#bindings) await this.#consume(q, b);
  }

  /**
   * Start consuming `queue`: declared first and, when the binding names another exchange,
   * bound to it by the routing key. False if it is consumed already.
   */
  async add(queue: string, binding: Partial<QueueBinding> = {}): Promise<boolean> {
    if (!this.#open) throw new BrokerError(`cannot consume '${queue}': the worker is not running`);
    if (this.#bindings.has(queue)) return false;
    const b = { ...defaultBinding(queue), ...binding };
    this.#bindings.set(queue, b); // before any await: a second add for it is a no-op
    try {
      await this.#declare(queue, b);
      await this.#consume(queue, b);
    } catch (err) {
      if (this.#bindings.get(queue) === b) this.#bindings.delete(queue);
      throw err;
    }
    return true;
  }

  /** Stop consuming `queue`; what it already delivered still runs. False if it was not consumed. */
  async cancel(queue: string): Promise<boolean> {
    if (!this.#bindings.delete(queue)) return false;
    const consumer = this.#consumers.get(queue);
    this.#consumers.delete(queue);
    await consumer?.cancel();
    return true;
  }

  /** Stop consuming everything (warm shutdown); the list of queues stays for inspect. */
  async cancelAll(): Promise<void> {
    this.#open = false;
    const all = [...this.#consumers.values()];
    this.#consumers.clear();
    await Promise.all(all.map((c) => c.cancel().catch(() => undefined)));
  }

  async #declare(queue: string, b: QueueBinding): Promise<void> {
    const { broker, queues } = this.#context();
    await queues.ensure(queue);
    // Quorum queues take Celery 5.5's native delayed delivery: a Celery 5.5 client's countdown
    // tasks arrive through celery_delayed_delivery, and far-future etas are parked there.
    if (queues.optionsOf(queue).queueType === 'quorum') await broker.bindNativeDelayedDelivery?.(queue);
    if (b.exchange === queue && b.exchangeType === 'direct' && b.routingKey === queue) return;
    await broker.declareExchange(b.exchange, b.exchangeType, { durable: true });
    await broker.bindQueue(queue, b.exchange, b.routingKey);
  }

  async #consume(queue: string, b: QueueBinding): Promise<void> {
    const { broker, prefetch, onDelivery } = this.#context();
    const consumer = await broker.consume(queue, { prefetch }, (d) => onDelivery(d, queue));
    // Cancelled, or the worker stopped, while the consumer was being set up.
    if (!this.#open || this.#bindings.get(queue) !== b) await consumer.cancel();
    else this.#consumers.set(queue, consumer);
  }

  #context(): TaskConsumersContext {
    if (!this.#ctx) throw new BrokerError('task consumers used before the worker started');
    return this.#ctx;
  }
}
