/**
 * Celery 5.5's native delayed delivery (kombu.transport.native_delayed_delivery), which Celery
 * uses instead of holding eta tasks in the worker when queues are quorum queues (they have no
 * global QoS, so a worker cannot raise its prefetch for held tasks).
 *
 * 28 levels, 27 down to 0. Level L is a topic exchange `celery_delayed_L` and a queue of the same
 * name whose messages live 2^L s and are then dead-lettered to level L-1's exchange (level 0's to
 * the topic exchange `celery_delayed_delivery`), keeping their routing key. The routing key is the
 * delay in whole seconds as 28 binary digits, most significant first, one word each, then the
 * target's routing key: `0.0.(...).1.0.1.celery` for 5 s to `celery`. Level L's exchange looks at
 * digit 27-L: a 1 routes into level L's queue (wait 2^L s), a 0 on to level L-1's exchange at once
 * (an exchange-to-exchange binding). What reaches `celery_delayed_delivery` goes to every queue
 * bound there with `#.<routing key>`. Publishing is to `celery_delayed_27`.
 *
 *   publish 'celery_delayed_27', '0.(x22).0.0.1.0.1.celery'   (5 s = binary 101)
 *     -> ...exchanges 27..3 pass it down (0 digits) -> queue celery_delayed_2 (4 s)
 *     -- dead-lettered --> exchange celery_delayed_1 (digit 0) -> exchange celery_delayed_0
 *     -> queue celery_delayed_0 (1 s) -- dead-lettered --> celery_delayed_delivery -> 'celery'
 *
 * Declarations match kombu's argument for argument (RabbitMQ refuses an inequivalent redeclare):
 * durable queues with x-queue-type, x-overflow reject-publish, x-message-ttl 2^L * 1000,
 * x-dead-letter-exchange, and x-dead-letter-strategy at-least-once for quorum levels, so a
 * delayed message survives the loss of a node and is never dropped between two levels.
 *
 * Binding differs on purpose: kombu binds a queue's topic exchange to the delivery exchange
 * (and skips direct exchanges, which celeryts and Celery use by default); we bind the queue
 * itself with `#.<queue>`, which works with any exchange. Both can coexist: RabbitMQ delivers a
 * message to a queue once however many bindings lead there.
 */
import type { OutgoingMessage, QueueOptions } from '../../core/broker.js';

/** Levels 0..27: delays up to 2^28 - 1 s (about 8.5 years). */
export const NATIVE_DELAY_LEVELS = 28;
/** The exchange every delayed message ends up in. */
export const NATIVE_DELIVERY_EXCHANGE = 'celery_delayed_delivery';
/** The exchange delayed messages are published to. */
export const NATIVE_ENTRY_EXCHANGE = `celery_delayed_${NATIVE_DELAY_LEVELS - 1}`;
/** The longest delay, in seconds. */
export const NATIVE_MAX_DELAY_SECONDS = 2 ** NATIVE_DELAY_LEVELS - 1;

/** Exchange and queue name of level `level`. */
export function nativeLevelName(level: number): string {
  return `celery_delayed_${level}`;
}

/** The routing key for a delay of `seconds` (whole, 1..2^28-1) to `routingKey` (kombu's calculate_routing_key). */
export function nativeRoutingKey(seconds: number, routingKey: string): string {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > NATIVE_MAX_DELAY_SECONDS)
    throw new RangeError(`native delay must be 1..${NATIVE_MAX_DELAY_SECONDS} whole seconds, got ${seconds}`);
  if (!routingKey) throw new RangeError('native delayed delivery needs a non-empty routing key');
  return `${[...seconds.toString(2).padStart(NATIVE_DELAY_LEVELS, '0')].join('.')}.${routingKey}`;
}

/** How level `level`'s queue is declared (kombu's arguments). */
export function nativeLevelQueueOptions(level: number, queueType: 'classic' | 'quorum'): QueueOptions {
  return {
    durable: true,
    queueType,
    overflow: 'reject-publish',
    messageTtlMs: 2 ** level * 1000,
    deadLetterExchange: level > 0 ? nativeLevelName(level - 1) : NATIVE_DELIVERY_EXCHANGE,
    ...(queueType === 'quorum' ? { deadLetterStrategy: 'at-least-once' as const } : {}),
  };
}

/** `*.` repeated: the digits a level's binding skips. */
const skip = (n: number): string => '*.'.repeat(n);

/** What declaring the topology needs (the broker's recorded declarations). */
export interface NativeTopology {
  declareExchange(name: string, type: 'topic', options: { durable: boolean; autoDelete: boolean }): Promise<void>;
  declareQueue(name: string, options: QueueOptions): Promise<void>;
  bindQueue(queue: string, exchange: string, routingKey: string): Promise<void>;
  /** Exchange-to-exchange binding: messages from `source` matching `routingKey` go to `destination`. */
  bindExchange(destination: string, source: string, routingKey: string): Promise<void>;
}

/** A publish without a delay (the broker's confirm pipeline). */
export type NativeSend = (exchange: string, routingKey: string, message: OutgoingMessage) => Promise<void>;

/** The native delayed delivery topology of one broker, declared on first use. */
export class NativeDelayedDelivery {
  readonly #topology: NativeTopology;
  readonly #send: NativeSend;
  readonly #queueType: 'classic' | 'quorum';
  #declared: Promise<void> | undefined;
  readonly #bound = new Map<string, Promise<void>>();

  constructor(topology: NativeTopology, send: NativeSend, queueType: 'classic' | 'quorum' = 'quorum') {
    this.#topology = topology;
    this.#send = send;
    this.#queueType = queueType;
  }

  /** Make `queue` reachable: declare the levels (once) and bind the queue to the delivery exchange. */
  bind(queue: string): Promise<void> {
    let bound = this.#bound.get(queue);
    if (!bound) {
      bound = this.#declare().then(() => this.#topology.bindQueue(queue, NATIVE_DELIVERY_EXCHANGE, `#.${queue}`));
      bound.catch(() => this.#bound.delete(queue));
      this.#bound.set(queue, bound);
    }
    return bound;
  }

  /**
   * Publish `message` for `queue` (default exchange semantics) after about `delayMs`: whole
   * seconds, rounded down (the consumer re-checks the task's eta), at most 2^28 - 1 s.
   */
  async publish(queue: string, message: OutgoingMessage, delayMs: number): Promise<void> {
    const seconds = Math.min(NATIVE_MAX_DELAY_SECONDS, Math.floor(delayMs / 1000));
    if (seconds < 1) return this.#send('', queue, message);
    await this.bind(queue);
    return this.#send(NATIVE_ENTRY_EXCHANGE, nativeRoutingKey(seconds, queue), message);
  }

  #declare(): Promise<void> {
    if (!this.#declared) {
      this.#declared = this.#declareAll();
      this.#declared.catch(() => (this.#declared = undefined));
    }
    return this.#declared;
  }

  async #declareAll(): Promise<void> {
    const t = this.#topology;
    const top = NATIVE_DELAY_LEVELS - 1;
    for (let level = top; level >= 0; level--) {
      const name = nativeLevelName(level);
      await t.declareExchange(name, 'topic', { durable: true, autoDelete: false });
      await t.declareQueue(name, nativeLevelQueueOptions(level, this.#queueType));
      await t.bindQueue(name, name, `${skip(top - level)}1.#`);
    }
    for (let level = top; level >= 1; level--) await t.bindExchange(nativeLevelName(level - 1), nativeLevelName(level), `${skip(top - level)}0.#`);
    await t.declareExchange(NATIVE_DELIVERY_EXCHANGE, 'topic', { durable: true, autoDelete: false });
    await t.bindExchange(NATIVE_DELIVERY_EXCHANGE, nativeLevelName(0), `${skip(top)}0.#`);
  }
}
