/**
 * One consumer, on a channel of its own, that survives its channel.
 *
 * Why a channel per consumer (kombu shares one): a channel error kills the whole channel, so
 * on a shared channel one consumer's failure (consumer timeout, exclusive queue taken, queue
 * deleted under a re-subscribe) would void every other consumer's in-flight deliveries. Per
 * consumer, prefetch is per channel anyway, delivery tags (and so ack batching) are per
 * consumer, and a failure costs only that consumer's deliveries. A worker has a handful of
 * consumers; channels are cheap.
 *
 * Each subscription attempt gets a fresh channel and a fresh AckBatcher ("incarnation"). The
 * broker decides what to do when an incarnation dies; this class reports it:
 * - channel closed, connection alive  -> hooks.channelLost (broker resubscribes, with backoff)
 * - channel closed with the connection -> nothing (the broker resumes every consumer on the
 *                                        next connection)
 * - basic.cancel from the broker       -> hooks.cancelledByBroker (broker redeclares the queue,
 *                                        then calls resubscribe() on the same channel, whose
 *                                        deliveries stay valid)
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import type { ConsumeOptions, Consumer, DeliveryHandler } from '../../core/broker.js';
import { AckBatcher } from './ack-batcher.js';
import { AmqpDelivery } from './amqp-delivery.js';
import { fullJitterDelay } from './backoff.js';
import type { AmqpLogger } from './options.js';
import type { AmqpSession } from './session.js';

/** How a consumer reports to the broker that owns it. */
export interface ConsumerHooks {
  /** The channel died while its connection lives on (consumer timeout, a server error). */
  channelLost(consumer: ManagedConsumer, err: Error | undefined, session: AmqpSession): void;
  /** The broker cancelled the subscription (queue deleted...); the channel is still open. */
  cancelledByBroker(consumer: ManagedConsumer, session: AmqpSession): void;
  /** The consumer ended for good (cancelled by the application, or its queue deleted here). */
  ended(consumer: ManagedConsumer): void;
  readonly logger: AmqpLogger;
}

interface Incarnation {
  readonly session: AmqpSession;
  readonly channel: Channel;
  readonly batcher: AckBatcher;
  open: boolean;
  /** True while the broker sends us deliveries (between consume-ok and cancel). */
  subscribed: boolean;
}

/** A subscription lived this long counts as healthy: the restart backoff starts over. */
const HEALTHY_AFTER_MS = 10_000;

/** The port's Consumer: one subscription, resubscribed across channels and connections. */
export class ManagedConsumer implements Consumer {
  /** Stable across reconnections: chosen here, not by the server. */
  readonly tag: string;
  readonly queue: string;
  readonly options: ConsumeOptions;
  readonly #handler: DeliveryHandler;
  readonly #hooks: ConsumerHooks;
  /** False until the first subscription succeeded; until then consume() owns retries. */
  established = false;
  /** The queue was deleted through this broker: a broker cancel then ends the consumer quietly. */
  queueDeletedHere = false;
  #ended = false;
  #current: Incarnation | undefined;
  #starting: { session: AmqpSession; promise: Promise<void> } | undefined;
  #startedAt = 0;
  #losses = 0;

  /** A consumer of `queue`; nothing happens on the server until start(). */
  constructor(tag: string, queue: string, options: ConsumeOptions, handler: DeliveryHandler, hooks: ConsumerHooks) {
    this.tag = tag;
    this.queue = queue;
    this.options = options;
    this.#handler = handler;
    this.#hooks = hooks;
  }

  /** True once cancelled (or ended); it will not subscribe again. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Subscribe on `session` on a fresh channel. Idempotent per session. */
  start(session: AmqpSession): Promise<void> {
    if (this.#current?.session === session && this.#current.open) return Promise.resolve();
    if (this.#starting?.session === session) return this.#starting.promise;
    const promise = this.#start(session).finally(() => {
      if (this.#starting?.promise === promise) this.#starting = undefined;
    });
    this.#starting = { session, promise };
    return promise;
  }

  /** Subscribe again on the current channel, after the broker cancelled us and the queue is back. */
  async resubscribe(): Promise<void> {
    const current = this.#current;
    if (!current?.open || current.subscribed || this.#ended) return;
    await this.#subscribe(current);
  }

  /** Delay before restarting after a channel loss: full-jitter backoff over consecutive losses. */
  restartDelay(initialMs: number, maxMs: number): number {
    if (Date.now() - this.#startedAt >= HEALTHY_AFTER_MS) this.#losses = 0;
    return fullJitterDelay(this.#losses++, initialMs, maxMs);
  }

  /** Stop receiving. Deliveries already handed out stay ackable; the channel closes once they are settled. */
  async cancel(): Promise<void> {
    if (this.#ended) return;
    this.#end();
    await this.#starting?.promise.catch(() => {});
    const current = this.#current;
    if (current?.open) await this.#unsubscribe(current);
  }

  /** For broker close: stop deliveries and send pending acks, keeping the channel for the connection close. */
  async stopForClose(): Promise<void> {
    this.#ended = true;
    const current = this.#current;
    if (!current?.open) return;
    if (current.subscribed) {
      current.subscribed = false;
      await current.channel.cancel(this.tag).catch(() => {});
    }
    current.batcher.flush();
  }

  /** Send this turn's acks now. */
  flushAcks(): void {
    this.#current?.batcher.flush();
  }

  /** Void every delivery handed out (the connection is closed). */
  kill(): void {
    this.#ended = true;
    this.#current?.batcher.kill();
  }

  async #start(session: AmqpSession): Promise<void> {
    // A previous incarnation is dead already (that is why we start); make sure of it.
    this.#current?.batcher.kill();
    this.#current = undefined;
    const channel = await session.openChannel();
    const current: Incarnation = { session, channel, batcher: new AckBatcher(channel), open: true, subscribed: false };
    let serverError: Error | undefined;
    channel.on('error', (err: Error) => {
      serverError = err;
    });
    channel.on('close', () => {
      current.open = false;
      current.batcher.kill();
      const wasSubscribed = current.subscribed;
      current.subscribed = false;
      if (this.#current !== current || !wasSubscribed || this.#ended) return;
      // amqplib closes a connection's channels just before it reports the connection closed:
      // one microtask later we know whether only this channel died.
      queueMicrotask(() => {
        if (session.alive && this.#current === current) this.#hooks.channelLost(this, serverError, session);
      });
    });
    this.#current = current;
    if (this.#ended) {
      channel.close().catch(() => {});
      return;
    }
    await this.#subscribe(current);
    this.#startedAt = Date.now();
    this.established = true;
    // cancel() may have come while we were subscribing.
    if (this.#ended) await this.#unsubscribe(current);
  }

  async #subscribe(current: Incarnation): Promise<void> {
    const { channel } = current;
    // Issued back to back without awaiting: amqplib sends a channel's RPCs in call order, so
    // this prefetch applies to exactly this consume.
    const qos = channel.prefetch(this.options.prefetch, false);
    const consume = channel.consume(this.queue, (message) => this.#onMessage(current, message), {
      consumerTag: this.tag,
      noAck: this.options.noAck ?? false,
      exclusive: this.options.exclusive ?? false,
    });
    await Promise.all([qos, consume]);
    current.subscribed = true;
  }

  async #unsubscribe(current: Incarnation): Promise<void> {
    if (current.subscribed) {
      current.subscribed = false;
      await current.channel.cancel(this.tag).catch(() => {
        // The channel died: the subscription died with it.
      });
    }
    current.batcher.whenIdle(() => {
      if (current.open) current.channel.close().catch(() => {});
    });
  }

  #onMessage(current: Incarnation, message: ConsumeMessage | null): void {
    if (message === null) {
      // basic.cancel from the broker: queue deleted, or a queue-type-specific cancellation.
      current.subscribed = false;
      if (this.#ended) return;
      if (this.queueDeletedHere) {
        this.#end();
        current.batcher.whenIdle(() => {
          if (current.open) current.channel.close().catch(() => {});
        });
        return;
      }
      this.#hooks.cancelledByBroker(this, current.session);
      return;
    }
    const batcher = this.options.noAck ? undefined : current.batcher;
    batcher?.track(message);
    if (this.#ended) {
      // Sent before the broker saw our basic.cancel: give it to another consumer.
      batcher?.reject(message.fields.deliveryTag, true);
      return;
    }
    try {
      this.#handler(new AmqpDelivery(message, batcher));
    } catch (err) {
      // The delivery is not settled here: the handler may still ack it later, and a requeue
      // now could run the task twice. Unsettled, it returns to the queue with the channel.
      this.#hooks.logger.error({ err, queue: this.queue, consumerTag: this.tag }, 'consumer handler threw; the delivery stays unacked');
    }
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#hooks.ended(this);
  }
}
