import { MaxRetriesExceededError, type Retry } from '../core/retry.js';
import type { Task } from '../core/task.js';

/**
 * How a task body ended. LOST: the thread running it died; REVOKED: stopped by
 * `revoke --terminate`.
 */
export type Outcome =
  | { state: 'SUCCESS'; retval: unknown }
  | { state: 'FAILURE'; error: unknown }
  | { state: 'RETRY'; retry: Retry }
  | { state: 'LOST'; error: unknown }
  | { state: 'REVOKED' };

/** Classify a thrown value: an explicit or automatic retry while retries remain, else a failure. */
export function classifyError(task: Task<any, any>, err: unknown, taskName: string, taskId: string, retries: number): Outcome {
  const retry = task.autoRetryFor(err, retries);
  if (!retry) return { state: 'FAILURE', error: err };
  const max = retry.options.maxRetries !== undefined ? retry.options.maxRetries : task.maxRetries;
  if (max !== null && max !== undefined && retries >= max) {
    return { state: 'FAILURE', error: retry.options.exc ?? new MaxRetriesExceededError(taskName, taskId, max) };
  }
  return { state: 'RETRY', retry };
}
