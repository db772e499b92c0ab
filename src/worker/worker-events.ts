import type { TaskHeaders } from '../core/wire/task.js';
import type { Job } from './job.js';

/**
 * What happens to tasks inside a worker, as typed in-process events. The Celery event
 * publisher (-E), stats and tests subscribe to these; nothing on the hot path waits for them.
 */
export interface WorkerEventMap {
  'task-received': [job: Job];
  'task-started': [job: Job];
  'task-succeeded': [job: Job, result: unknown, runtimeMs: number];
  'task-failed': [job: Job, error: unknown, traceback: string];
  'task-retried': [job: Job, error: unknown, traceback: string];
  'task-revoked': [headers: TaskHeaders, reason: 'revoked' | 'expired', terminated: boolean];
  'task-rejected': [headers: TaskHeaders | undefined, reason: string, error: Error];
  /** A job is done (any state) and its slot is free. */
  'task-finished': [job: Job, state: string];
  stopped: [];
}
