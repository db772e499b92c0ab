import type { Delivery } from '../core/broker.js';
import type { TaskMessage } from '../core/wire/task.js';
import type { Task } from '../core/task.js';
import type { Outcome } from './outcome.js';

/** One task message the worker accepted: reserved, then running, then done. */
export class Job {
  /** performance.now() when it started, once it has. */
  startedAt: number | undefined = undefined;
  /** Wall-clock start (seconds), for inspect active. */
  timeStart: number | undefined = undefined;
  /** Settled: acked or rejected. */
  settled = false;
  /** A result of this job could not be sent (full disk, broker gone): an acks-late job is requeued, not acked. */
  resultLost = false;
  /** A redelivered acks-late job that must be start-marked before it runs (redelivery-guard.ts). */
  needsStartMark = false;
  /** Its start mark's id while it runs marked. */
  startMark: string | undefined = undefined;
  /** Tasks the body sent (request.children): stored with its result. */
  readonly children: string[] = [];
  /** Set while running: stop the body now with this outcome (revoke --terminate). */
  terminate: ((outcome: Outcome) => void) | undefined = undefined;
  #controller: AbortController | undefined;

  constructor(
    readonly task: Task<any, any>,
    readonly msg: TaskMessage,
    readonly delivery: Delivery,
    /** Ack after running (task option, else worker default). */
    readonly acksLate: boolean,
    /** Send no result (header, task option, else worker default). */
    readonly ignoreResult: boolean,
  ) {}

  /**
   * Aborted on revoke --terminate, time limits and cold shutdown. Made on first use: most
   * tasks never look at their signal, and an AbortController per message is not free.
   */
  get controller(): AbortController {
    return (this.#controller ??= new AbortController());
  }
}

/**
 * Ack a job's message once. Returns the broker's promise when the ack can fail (see
 * Delivery.ack): an early-ack job must not start until it resolves.
 */
export function ackJob(job: Job): void | Promise<void> {
  if (job.settled) return;
  job.settled = true;
  return job.delivery.ack();
}

/** Reject a job's message once. */
export function rejectJob(job: Job, requeue: boolean): void {
  if (job.settled) return;
  job.settled = true;
  job.delivery.reject(requeue);
}

/** The shape `celery inspect active/reserved` prints for a request. */
export function jobInfo(job: Job, hostname: string): Record<string, unknown> {
  return {
    id: job.msg.id,
    name: job.msg.task,
    args: job.msg.args,
    kwargs: job.msg.kwargs,
    type: job.msg.task,
    hostname,
    time_start: job.timeStart ?? null,
    acknowledged: job.settled,
    delivery_info: {
      exchange: job.delivery.exchange,
      routing_key: job.delivery.routingKey,
      priority: job.msg.priority,
      redelivered: job.delivery.redelivered,
    },
    worker_pid: process.pid,
  };
}
