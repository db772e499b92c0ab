/**
 * Celery's topology, declared through the broker port so every adapter gets the same shape:
 * a durable queue per task queue, a direct exchange of the same name bound to it, pidbox
 * exchanges for remote control. Declarations must match Python's exactly: RabbitMQ refuses
 * a redeclaration with other flags (PRECONDITION_FAILED).
 */
import type { Broker, QueueOptions } from './broker.js';

/** Fanout exchange remote-control requests go to. */
export const PIDBOX_EXCHANGE = 'celery.pidbox';
/** Direct exchange remote-control replies go to (routing key = the client's id). */
export const REPLY_PIDBOX_EXCHANGE = 'reply.celery.pidbox';
/** The worker's own control queue. */
export const pidboxQueueName = (nodeName: string): string => `${nodeName}.celery.pidbox`;
/** Celery's control_queue_ttl (300 s) and control_queue_expires (10 s). */
export const CONTROL_MESSAGE_TTL_MS = 300_000;
export const CONTROL_QUEUE_EXPIRES_MS = 10_000;

/** Declare a task queue, its direct exchange and the binding (kombu's Queue(name, Exchange(name), name)). */
export async function declareTaskQueue(broker: Broker, name: string, options: QueueOptions = {}): Promise<void> {
  await broker.declareQueue(name, { durable: true, ...options });
  await broker.declareExchange(name, 'direct', { durable: true });
  await broker.bindQueue(name, name, name);
}

/** Declare both pidbox exchanges (transient, not auto-deleted, as kombu's Mailbox does). */
export async function declarePidboxExchanges(broker: Broker): Promise<void> {
  await broker.declareExchange(PIDBOX_EXCHANGE, 'fanout', { durable: false, autoDelete: false });
  await broker.declareExchange(REPLY_PIDBOX_EXCHANGE, 'direct', { durable: false, autoDelete: false });
}

/** Topic exchange Celery's monitoring events go to (event_exchange). */
export const EVENT_EXCHANGE = 'celeryev';
/** Celery's event_queue_ttl (5 s) and event_queue_expires (60 s) for event receivers' queues. */
export const EVENT_MESSAGE_TTL_MS = 5_000;
export const EVENT_QUEUE_EXPIRES_MS = 60_000;

/** Declare the event exchange as kombu does (topic, durable, not auto-deleted). */
export async function declareEventExchange(broker: Broker): Promise<void> {
  await broker.declareExchange(EVENT_EXCHANGE, 'topic', { durable: true, autoDelete: false });
}

/** A cache so each queue is declared once per process, however many tasks go to it. */
export class DeclaredQueues {
  readonly #done = new Map<string, Promise<void>>();
  constructor(
    private readonly broker: Broker,
    private readonly options: (name: string) => QueueOptions,
  ) {}

  /** How `name` is declared (the config's queue options, defaultQueueType applied). */
  optionsOf(name: string): QueueOptions {
    return this.options(name);
  }

  ensure(name: string): Promise<void> {
    let p = this.#done.get(name);
    if (!p) {
      p = declareTaskQueue(this.broker, name, this.options(name));
      // A failed declaration must be retried next time, not cached.
      p.catch(() => this.#done.delete(name));
      this.#done.set(name, p);
    }
    return p;
  }
}
