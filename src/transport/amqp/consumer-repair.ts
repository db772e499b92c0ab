/**
 * Repairs for one consumer while its connection lives on. Both keep the consumer's tag,
 * handler and options, and touch no other consumer:
 *
 * - its channel was closed by the server (consumer timeout, a channel error): wait a jittered,
 *   growing delay (a channel that dies at once again must not spin), redeclare its queue if it
 *   was declared here, subscribe on a fresh channel. The dead channel's deliveries are void;
 *   the server requeued them.
 * - the server cancelled it (queue deleted, basic.cancel): redeclare the queue with its
 *   bindings if it was declared here (else require that it still exists), and subscribe again
 *   on the same channel, whose deliveries stay valid.
 *
 * A repair that fails while the connection is fine is final: the consumer is dropped and the
 * broker reports it ('error'). A repair overtaken by a connection loss is abandoned: the
 * reconnection resumes every consumer anyway.
 */
import { BrokerError } from '../../core/errors.js';
import { errorMessage, replyCode } from './amqp-errors.js';
import type { ManagedConsumer } from './managed-consumer.js';
import type { AmqpLogger } from './options.js';
import type { AmqpSession } from './session.js';
import { sessionTopology } from './session-topology.js';
import type { TopologyRegistry } from './topology-registry.js';

/** What a repair needs from the broker. */
export interface RepairContext {
  readonly logger: AmqpLogger;
  readonly registry: TopologyRegistry;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** The newest session (installed or being set up), or undefined while disconnected. */
  liveSession(): AmqpSession | undefined;
  /** Give up on the consumer and tell the application. */
  drop(consumer: ManagedConsumer, err: unknown): void;
  /** Error text safe to log (no credentials). */
  safeMessage(err: unknown): string;
}

/** Repairs one consumer at a time while the connection lives on (see the file comment). */
export class ConsumerRepair {
  readonly #ctx: RepairContext;

  /** Repairs on behalf of the broker described by `ctx`. */
  constructor(ctx: RepairContext) {
    this.#ctx = ctx;
  }

  /** The consumer's channel died under a live connection. */
  channelLost(consumer: ManagedConsumer, err: Error | undefined, session: AmqpSession): void {
    const delayMs = consumer.restartDelay(this.#ctx.initialDelayMs, this.#ctx.maxDelayMs);
    this.#ctx.logger.warn(
      { queue: consumer.queue, consumerTag: consumer.tag, err: err && this.#ctx.safeMessage(err), delayMs },
      "consumer's channel closed; resubscribing",
    );
    setTimeout(() => {
      if (!this.#current(consumer, session)) return;
      void this.#run(consumer, session, async () => {
        await this.#ctx.registry.redeclareQueue(consumer.queue, sessionTopology(session));
        await consumer.start(session);
      });
    }, delayMs).unref();
  }

  /** The server cancelled the consumer; its channel is still open. */
  cancelledByBroker(consumer: ManagedConsumer, session: AmqpSession): void {
    this.#ctx.logger.warn({ queue: consumer.queue, consumerTag: consumer.tag }, 'the broker cancelled a consumer; subscribing again');
    void this.#run(consumer, session, async () => {
      const redeclared = await this.#ctx.registry.redeclareQueue(consumer.queue, sessionTopology(session));
      if (!redeclared && !(await queueExists(session, consumer.queue))) {
        throw new BrokerError(`queue '${consumer.queue}' was deleted, and it was not declared through this broker, so it cannot be recreated`);
      }
      await consumer.resubscribe();
    });
  }

  async #run(consumer: ManagedConsumer, session: AmqpSession, repair: () => Promise<void>): Promise<void> {
    try {
      await repair();
    } catch (err) {
      if (this.#current(consumer, session)) this.#ctx.drop(consumer, err);
      else this.#ctx.logger.debug({ queue: consumer.queue, err: errorMessage(err) }, 'consumer repair overtaken by a reconnection');
    }
  }

  /** Still worth repairing: not ended, and its session is still the live one. */
  #current(consumer: ManagedConsumer, session: AmqpSession): boolean {
    return !consumer.ended && session.alive && this.#ctx.liveSession() === session;
  }
}

async function queueExists(session: AmqpSession, queue: string): Promise<boolean> {
  try {
    await session.throwaway((ch) => ch.checkQueue(queue));
    return true;
  } catch (err) {
    if (replyCode(err) === 404) return false;
    throw err;
  }
}
