import { CeleryTsError } from './errors.js';

/** What `task.retry()` accepts (Celery's retry keywords). */
export interface RetryOptions {
  /** The error that caused the retry; re-raised when retries run out. */
  exc?: unknown;
  /** Seconds until the retry (default: the task's defaultRetryDelay). */
  countdown?: number;
  /** Exact time of the retry (wins over countdown). */
  eta?: Date | string;
  /** Override the task's maxRetries for this call (null = retry forever). */
  maxRetries?: number | null;
  /** Retry with other arguments. */
  args?: unknown[];
  kwargs?: Record<string, unknown>;
}

/**
 * Thrown by `task.retry()`: tells the worker to republish the same task id with retries + 1.
 * Mirrors celery.exceptions.Retry.
 */
export class Retry extends CeleryTsError {
  readonly excType = 'Retry';
  readonly excModule = 'celery.exceptions';
  constructor(readonly options: RetryOptions) {
    const cause = options.exc instanceof Error ? `: ${options.exc.message}` : '';
    super('CELERYTS_RETRY', `Retry requested${cause}`);
  }
}

/** Retries ran out and no original error was given. Mirrors celery.exceptions.MaxRetriesExceededError. */
export class MaxRetriesExceededError extends CeleryTsError {
  readonly excType = 'MaxRetriesExceededError';
  readonly excModule = 'celery.exceptions';
  constructor(taskName: string, taskId: string, retries: number) {
    super('CELERYTS_MAX_RETRIES_EXCEEDED', `Can't retry ${taskName}[${taskId}] args:... (max retries ${retries} exceeded)`);
  }
}

/**
 * Celery's exponential backoff: min(maximum, factor * 2^retries), then full jitter
 * (uniform in [0, countdown]) unless jitter is off.
 */
export function backoffSeconds(factor: number, retries: number, maximum: number, fullJitter: boolean, random: () => number = Math.random): number {
  const countdown = Math.min(maximum, factor * 2 ** retries);
  return fullJitter ? Math.floor(random() * (countdown + 1)) : countdown;
}
