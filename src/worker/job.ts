import type { Delivery } from '../core/broker.js';
import type { TaskMessage } from '../core/protocol.js';
import type { Task } from '../core/task.js';
import type { Outcome } from './outcome.js';

/** One task message the worker accepted: reserved, then running, then done. */
export interface Job {
  task: Task<any, any>;
  msg: TaskMessage;
  delivery: Delivery;
  /** Ack after running (task option, else worker default). */
  acksLate: boolean;
  /** Send no result (header, task option, else worker default). */
  ignoreResult: boolean;
  /** performance.now() when it started, once it has. */
  startedAt: number | undefined;
  /** Wall-clock start (seconds), for inspect active. */
  timeStart: number | undefined;
  /** Aborted on revoke --terminate, time limits and cold shutdown. */
  controller: AbortController;
  /** Settled: acked or rejected. */
  settled: boolean;
  /** Set while running: stop the body now with this outcome (revoke --terminate). */
  terminate?: ((outcome: Outcome) => void) | undefined;
}

/** Ack a job's message once. */
export function ackJob(job: Job): void {
  if (job.settled) return;
  job.settled = true;
  job.delivery.ack();
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
