import { SoftTimeLimitExceeded } from '../core/errors.js';
import { requestContext, type Request } from '../core/request.js';
import { Task, type ExceptionDetails } from '../core/task.js';
import type { Logger } from '../logging/logger.js';
import { andThen, isThenable, type MaybePromise } from '../util/maybe-promise.js';
import type { Job } from './job.js';
import { classifyError, type Outcome } from './outcome.js';
import type { TaskRunner } from './runner.js';

/** Call a handler, logging (never propagating) what it throws. Waits only for a handler that returns a promise. */
export function safely(log: Logger, job: Job, what: string, fn: () => unknown): MaybePromise<void> {
  let returned: unknown;
  try {
    returned = fn();
  } catch (err) {
    return handlerFailed(log, job, what, err);
  }
  if (isThenable(returned)) return Promise.resolve(returned).then(noop, (err: unknown) => handlerFailed(log, job, what, err));
}

function handlerFailed(log: Logger, job: Job, what: string, err: unknown): void {
  log.error({ err, taskId: job.msg.id, task: job.msg.task }, `${what} handler raised`);
}

function noop(): void {}

/** The base class's handlers do nothing: a task that keeps them has nothing to call. */
const BASE: Task<any, any> = Task.prototype;

/** Run the handlers that follow a reported outcome, in Celery's order. */
export function runAfterHandlers(log: Logger, job: Job, outcome: Outcome, retval: unknown, einfo: ExceptionDetails | null): MaybePromise<void> {
  const { task, msg } = job;
  let first: MaybePromise<void> | undefined;
  if (outcome.state === 'SUCCESS') {
    if (task.onSuccess !== BASE.onSuccess) first = safely(log, job, 'onSuccess', () => task.onSuccess(retval, msg.id, msg.args, msg.kwargs));
  } else if (outcome.state === 'RETRY') {
    if (task.onRetry !== BASE.onRetry) first = safely(log, job, 'onRetry', () => task.onRetry(retval, msg.id, msg.args, msg.kwargs, einfo!));
  } else if (einfo && task.onFailure !== BASE.onFailure)
    first = safely(log, job, 'onFailure', () => task.onFailure(retval, msg.id, msg.args, msg.kwargs, einfo));
  if (task.afterReturn === BASE.afterReturn) return first;
  const state = outcome.state === 'LOST' ? 'FAILURE' : outcome.state;
  return andThen(first, () => safely(log, job, 'afterReturn', () => task.afterReturn(state, retval, msg.id, msg.args, msg.kwargs, einfo)));
}

/** The body, inside the request context (a static function: no closure per call). */
function invoke(task: Task<any, any>, job: Job): unknown {
  return task.invoke(job.msg.args, job.msg.kwargs);
}

/**
 * The async pool's runner: bodies run on this event loop. A hard limit or terminate cannot
 * stop JavaScript that is running; it fires the task's AbortSignal and gives up on the body
 * (its eventual result is discarded) so the slot and the caller are freed.
 *
 * A body that returns a plain value (and a beforeStart that does) runs to its outcome
 * synchronously: nothing can kill it half-way, so there is nothing to race.
 */
export class AsyncRunner implements TaskRunner {
  readonly kind = 'async';
  readonly #kills = new WeakMap<Job, (o: Outcome) => void>();

  constructor(private readonly log: Logger) {}

  /** Bodies run in this process. */
  processes(): number[] {
    return [process.pid];
  }

  async start(): Promise<void> {}

  run(job: Job, request: Request): MaybePromise<Outcome> {
    const { task, msg } = job;
    const before =
      task.beforeStart === BASE.beforeStart ? undefined : safely(this.log, job, 'beforeStart', () => task.beforeStart(msg.id, msg.args, msg.kwargs));
    if (isThenable(before))
      return this.#killable(
        job,
        Promise.resolve(before).then(() => this.#body(job, request)),
      );
    const outcome = this.#body(job, request);
    return isThenable(outcome) ? this.#killable(job, Promise.resolve(outcome)) : outcome;
  }

  #body(job: Job, request: Request): MaybePromise<Outcome> {
    const { task, msg } = job;
    let retval: unknown;
    try {
      retval = requestContext.run(request, invoke, task, job);
    } catch (err) {
      return classifyError(task, err, msg.task, msg.id, msg.retries);
    }
    if (!isThenable(retval)) return { state: 'SUCCESS', retval };
    return Promise.resolve(retval).then(
      (value): Outcome => ({ state: 'SUCCESS', retval: value }),
      (err: unknown) => classifyError(task, err, msg.task, msg.id, msg.retries),
    );
  }

  /** Race a pending body against kill(). */
  async #killable(job: Job, body: Promise<Outcome>): Promise<Outcome> {
    const killed = new Promise<Outcome>((resolve) => this.#kills.set(job, resolve));
    const outcome = await Promise.race([body, killed]);
    this.#kills.delete(job);
    return outcome;
  }

  finish(job: Job, outcome: Outcome, retval: unknown, einfo: ExceptionDetails | null): MaybePromise<void> {
    return runAfterHandlers(this.log, job, outcome, retval, einfo);
  }

  soft(job: Job, seconds: number): void {
    job.controller.abort(new SoftTimeLimitExceeded(seconds));
  }

  kill(job: Job, outcome: Outcome): void {
    if (!job.controller.signal.aborted) job.controller.abort(outcome.state === 'FAILURE' ? outcome.error : new Error('terminated'));
    this.#kills.get(job)?.(outcome);
  }

  async close(): Promise<void> {}
}
