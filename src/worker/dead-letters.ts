/**
 * Where the worker puts task messages it refuses (a poison task over maxRedeliveries, an unknown
 * task, a malformed, undecodable or oversized message), so none is dropped silently:
 *
 *   queue configured with its own deadLetterExchange ─▶ reject without requeue (the broker
 *        dead-letters it there, as the user asked)
 *   deadLetterQueue null ─▶ reject without requeue: dropped (Celery's behaviour), logged
 *   else ─▶ publish a copy to the dead-letter queue (default `celeryts.dlq`) with headers that
 *        say why and where from (core/dead-letter.ts); await the confirm; ack the original.
 *        The copy could not be published ─▶ logged, given back after a pause (never lost).
 *
 * Publish-then-ack rather than x-dead-letter-exchange arguments on the task queues: a queue that
 * already exists with other arguments would make RabbitMQ refuse the declaration
 * (PRECONDITION_FAILED), and the virtual brokers need nothing new. The cost: a worker killed
 * between the confirm and the ack leaves the message in both places (at least once).
 */
import type { Broker, Delivery, QueueOptions } from '../core/broker.js';
import { deadLetterMessage } from '../core/dead-letter.js';
import type { Logger } from '../logging/logger.js';

/** Pause before giving back a message whose dead-letter copy could not be published (no busy loop). */
const GIVE_BACK_AFTER_MS = 1000;

/** What the dead-letter path needs. */
export interface DeadLettersContext {
  broker: Broker;
  log: Logger;
  nodeName: string;
  /** config deadLetterQueue. */
  queue: string | null;
  /** The consumed queue's configured options (its own dead-letter exchange wins). */
  queueOptions: (queue: string) => QueueOptions;
}

/** The worker's dead-letter path; see the file comment. */
export class DeadLetters {
  readonly #ctx: DeadLettersContext;
  readonly #pending = new Set<Promise<void>>();

  constructor(ctx: DeadLettersContext) {
    this.#ctx = ctx;
  }

  /** Declare the dead-letter queue (it exists without configuration). */
  async start(): Promise<void> {
    if (this.#ctx.queue !== null) await this.#ctx.broker.declareQueue(this.#ctx.queue, { durable: true });
  }

  /** Dead-letter a refused delivery consumed from `queue`; returns where it went, for the log line. */
  deadLetter(d: Delivery, queue: string, reason: string, err: Error): string {
    const { broker, log, nodeName, queue: dlq, queueOptions } = this.#ctx;
    const dlx = queueOptions(queue).deadLetterExchange;
    if (dlx !== undefined) {
      d.reject(false);
      return `was rejected to the queue's dead-letter exchange '${dlx}'`;
    }
    if (dlq === null) {
      d.reject(false);
      return 'has been rejected and discarded (deadLetterQueue is null)';
    }
    const copy = deadLetterMessage(d, { reason, error: err.message, queue, node: nodeName });
    const p = broker
      .publish('', dlq, copy)
      .then(
        () => d.ack(),
        async (e: unknown) => {
          if (d.stale) return; // the broker redelivers it anyway
          log.error({ err: e, reason, queue: dlq }, `could not move a refused message to the dead-letter queue '${dlq}'; giving it back`);
          await new Promise((r) => setTimeout(r, GIVE_BACK_AFTER_MS));
          d.reject(true);
        },
      )
      .catch(() => undefined) // a failed ack: the message comes back and is refused again
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
    return `has been moved to the dead-letter queue '${dlq}' (see: celeryts dlq show)`;
  }

  /** Resolves once every copy in flight is published and its original settled (warm shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.#pending);
  }
}
