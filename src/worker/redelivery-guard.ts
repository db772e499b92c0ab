/**
 * The poison-task guard: an acks-late task that kills its worker on every delivery must not
 * loop forever (kill, redeliver, kill...). What counts is a death, not a redelivery: a message
 * that was only prefetched and given back (a connection blip, a warm shutdown with a big
 * prefetch) comes back `redelivered` too, and must simply run. Start marks (start-marks.ts) say
 * which redeliveries are deaths; the count travels in a header of our own, since a message's
 * headers cannot change in place.
 *
 *   acks-late delivery ─▶ its task started under this node and the worker died (start mark)?
 *        │ no ─▶ run it; marked before it starts if it was redelivered or carries a count
 *        │ yes: n = x-celeryts-redeliveries + 1
 *        ├─ n <= maxRedeliveries ─▶ publish a copy carrying n to the same queue, delayed
 *        │                          1 s x 2^(n-1); await the confirm; ack the original. The
 *        │                          copy runs (marked) when it comes back.
 *        └─ n >  maxRedeliveries ─▶ refused: to the dead-letter queue (or the queue's own
 *                                   dead-letter exchange), logged as an error with the task id
 *
 * Why not run the redelivered message at once: the count has to be on the broker before the
 * task can kill us again. Why the delay: the original's ack leaves a moment after the copy's
 * confirm; a copy back at once could kill this worker before that ack is out, and then the
 * original returns too (two poison messages). A second is ample for the ack, and a crash loop
 * slows down as it goes.
 *
 * The count is at least once too: a worker that dies between the copy's confirm and the
 * original's ack leaves both, so a poison task may run a few more times than the limit, never
 * forever (for a node that keeps its name; see start-marks.ts).
 */
import type { Broker, Delivery } from '../core/broker.js';
import { REDELIVERIES_HEADER, withoutBrokerHeaders } from '../core/dead-letter.js';
import { RedeliveryLimitError } from '../core/errors.js';
import type { TaskHeaders } from '../core/wire/task.js';
import type { Logger } from '../logging/logger.js';
import type { StartMarks } from './start-marks.js';

export { REDELIVERIES_HEADER };

/** Pause before giving back a redelivery whose copy could not be published, so a broker that refuses publishes causes no busy loop. */
const REQUEUE_AFTER_FAILURE_MS = 1000;
/** The copy of the n-th redelivery comes back after FIRST_DELAY_MS x 2^(n-1), at most MAX_DELAY_MS. */
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 60_000;

/** What the guard needs from its worker. */
export interface RedeliveryGuardContext {
  broker: Broker;
  log: Logger;
  maxRedeliveries: number;
  marks: StartMarks;
  /**
   * True for a queue whose broker counts deliveries itself (a quorum queue declared with
   * deliveryLimit): the broker drops or dead-letters past the limit, no copy is needed.
   */
  brokerCounts?: (queue: string) => boolean;
  /** Dead-letter, count, log and tell the caller (the worker's refusal path). */
  refuse(d: Delivery, queue: string, reason: string, err: Error, headers: TaskHeaders): void;
}

/** The count a message carries (0 when it never went through the guard). */
export function redeliveriesOf(d: Delivery): number {
  const n = d.headers[REDELIVERIES_HEADER];
  return typeof n === 'number' && Number.isInteger(n) && n > 0 ? n : 0;
}

/** The copy is a redelivery in all but name: the task sees request.deliveryInfo.redelivered. */
function flaggedRedelivered(d: Delivery): Delivery {
  return {
    body: d.body,
    headers: d.headers,
    properties: d.properties,
    exchange: d.exchange,
    routingKey: d.routingKey,
    redelivered: true,
    get stale() {
      return d.stale;
    },
    ack: () => d.ack(),
    reject: (requeue) => d.reject(requeue),
    ...(d.touch ? { touch: () => d.touch!() } : {}),
  };
}

/** A delivery the guard lets through, and whether its task must be marked before it starts. */
export interface Admitted {
  delivery: Delivery;
  mark: boolean;
}

/** Counts deaths of acks-late tasks and dead-letters poison tasks; see the file comment. */
export class RedeliveryGuard {
  readonly #ctx: RedeliveryGuardContext;
  readonly #pending = new Set<Promise<void>>();

  constructor(ctx: RedeliveryGuardContext) {
    this.#ctx = ctx;
  }

  /**
   * Look at a delivery before its task runs. Returns the delivery to run (flagged redelivered
   * when it is a counted copy) and whether to mark it, or undefined when the guard took it:
   * requeued with its count, or dead-lettered.
   */
  check(d: Delivery, queue: string, headers: TaskHeaders, acksLate: boolean): Admitted | undefined {
    const count = redeliveriesOf(d);
    const died = acksLate && d.redelivered && this.#ctx.marks.takeDied(headers.id);
    if (!died) {
      const delivery = count === 0 || d.redelivered ? d : flaggedRedelivered(d);
      return { delivery, mark: acksLate && (d.redelivered || count > 0) };
    }
    // x-delivery-limit: the broker's own count (x-delivery-count) holds without republishing.
    if (this.#ctx.brokerCounts?.(queue)) return { delivery: d, mark: true };
    const n = count + 1;
    const { maxRedeliveries, log } = this.#ctx;
    const label = `${headers.task}[${headers.id}]`;
    if (n > maxRedeliveries) {
      this.#ctx.refuse(d, queue, 'redelivery_limit', new RedeliveryLimitError(n, maxRedeliveries), headers);
      return undefined;
    }
    const delayMs = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** (n - 1));
    log.warn(
      { taskId: headers.id, task: headers.task, redeliveries: n, maxRedeliveries, delayMs },
      `Task ${label} started and its worker died (${n} of at most ${maxRedeliveries} times); requeued a copy that counts it, back in ${delayMs / 1000}s`,
    );
    const copy = { headers: { ...withoutBrokerHeaders(d.headers), [REDELIVERIES_HEADER]: n }, properties: d.properties, body: d.body };
    const p = this.#ctx.broker
      .publish('', queue, copy, { delayMs })
      .then(
        () => d.ack(),
        async (err: unknown) => {
          if (d.stale) return; // the broker redelivers it anyway
          log.warn({ err, taskId: headers.id, task: headers.task }, `could not requeue a counted copy of ${label}; giving the message back`);
          await new Promise((r) => setTimeout(r, REQUEUE_AFTER_FAILURE_MS));
          d.reject(true);
        },
      )
      .finally(() => this.#pending.delete(p));
    this.#pending.add(p);
    return undefined;
  }

  /** Resolves once every copy in flight is published and its original settled (warm shutdown). */
  async settled(): Promise<void> {
    await Promise.all(this.#pending);
  }
}
