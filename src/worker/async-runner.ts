import { SoftTimeLimitExceeded } from '../core/errors.js';
import { requestContext, type Request } from '../core/request.js';
import type { ExceptionDetails } from '../core/task.js';
import type { Logger } from '../logging/logger.js';
import type { Job } from './job.js';
import { classifyError, type Outcome } from './outcome.js';
import type { TaskRunner } from './runner.js';

/** Call a handler, logging (never propagating) what it throws. */
export async function safely(log: Logger, job: Job, what: string, fn: () => unknown): Promise<void> {
  try {
    await fn();
  } catch (err) {
    log.error({ err, taskId: job.msg.id, task: job.msg.task }, `${what} handler raised`);
  }
}

/** Run the handlers that follow a reported outcome, in Celery's order. */
export async function runAfterHandlers(log: Logger, job: Job, outcome: Outcome, retval: unknown, einfo: ExceptionDetails | null): Promise<void> {
  const { task, msg } = job;
  if (outcome.state === 'SUCCESS') await safely(log, job, 'onSuccess', () => task.onSuccess(retval, msg.id, msg.args, msg.kwargs));
  else if (outcome.state === 'RETRY') await safely(log, job, 'onRetry', () => task.onRetry(retval, msg.id, msg.args, msg.kwargs, einfo!));
  else if (einfo) await safely(log, job, 'onFailure', () => task.onFailure(retval, msg.id, msg.args, msg.kwargs, einfo));
  const state = outcome.state === 'LOST' ? 'FAILURE' : outcome.state;
  await safely(log, job, 'afterReturn', () => task.afterReturn(state, retval, msg.id, msg.args, msg.kwargs, einfo));
}

/**
 * The async pool's runner: bodies run on this event loop. A hard limit or terminate cannot
 * stop JavaScript that is running; it fires the task's AbortSignal and gives up on the body
 * (its eventual result is discarded) so the slot and the caller are freed.
 */
export class AsyncRunner implements TaskRunner {
  readonly kind = 'async';
  readonly #kills = new WeakMap<Job, (o: Outcome) => void>();

  constructor(private readonly log: Logger) {}

  async start(): Promise<void> {}

  async run(job: Job, request: Request): Promise<Outcome> {
    const { task, msg } = job;
    const killed = new Promise<Outcome>((resolve) => this.#kills.set(job, resolve));
    const body = (async (): Promise<Outcome> => {
      await safely(this.log, job, 'beforeStart', () => task.beforeStart(msg.id, msg.args, msg.kwargs));
      try {
        return { state: 'SUCCESS', retval: await requestContext.run(request, () => task.invoke(msg.args, msg.kwargs)) };
      } catch (err) {
        return classifyError(task, err, msg.task, msg.id, msg.retries);
      }
    })();
    const outcome = await Promise.race([body, killed]);
    this.#kills.delete(job);
    return outcome;
  }

  finish(job: Job, outcome: Outcome, retval: unknown, einfo: ExceptionDetails | null): Promise<void> {
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
