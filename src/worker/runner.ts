import type { Request } from '../core/request.js';
import type { ExceptionDetails } from '../core/task.js';
import type { Job } from './job.js';
import type { MaybePromise } from '../util/maybe-promise.js';
import type { Outcome } from './outcome.js';

/**
 * Where task bodies run: in this event loop (async pool) or in worker threads. The executor
 * owns acks, results and follow-ups; a runner owns the body and the task's handlers.
 */
export interface TaskRunner {
  /** 'async' or 'threads', as inspect stats reports it. */
  readonly kind: string;
  /** What runs the bodies, as inspect stats lists pool processes: this process's pid, or thread ids. */
  processes(): number[];
  /** Fresh workers for the bodies, loading the task modules anew (pool_restart); absent when impossible. */
  restart?(): void;
  /** Start the runner (threads load the task modules). */
  start(): Promise<void>;
  /** Run beforeStart and the body; the outcome (now, or a promise of it), never a rejection. */
  run(job: Job, request: Request): MaybePromise<Outcome>;
  /** Run onSuccess / onFailure / onRetry and afterReturn, after the result was reported. */
  finish(job: Job, outcome: Outcome, retval: unknown, einfo: ExceptionDetails | null): MaybePromise<void>;
  /** The soft time limit passed: fire the task's AbortSignal with SoftTimeLimitExceeded. */
  soft(job: Job, seconds: number): void;
  /** Stop the body now (hard limit, revoke --terminate): run() resolves with `outcome`. */
  kill(job: Job, outcome: Outcome): void;
  /** Stop (threads are terminated). */
  close(): Promise<void>;
}
