/**
 * Celery 5's Redis result format, so Python and celeryts read each other's results:
 *   key   celery-task-meta-<task id>         (groups: celery-taskset-meta-<group id>)
 *   value JSON {status, result, traceback, children, date_done, [group_id], [parent_id],
 *               [name, args, kwargs, worker, retries, queue  (result_extended)], task_id}
 * in that key order (Celery's _get_result_meta, then task_id), date_done as Python's naive
 * utcnow().isoformat() on ready states and null before. A failure's result is
 * {exc_type, exc_message: [...], exc_module}.
 */
import type { ResultTarget } from '../../core/backend.js';
import { MalformedMessageError } from '../../core/errors.js';
import { READY_STATES } from '../../core/states.js';
import { isPlainObject } from '../../core/wire/json-body.js';
import { childTuples, encodeMeta } from '../../core/wire/result.js';
import type { ResultMeta } from '../async-result.js';

/** Prefix of a task's result key (Celery's task_keyprefix). */
export const TASK_KEY_PREFIX = 'celery-task-meta-';
/** Prefix of a saved group's key (Celery's group_keyprefix). */
export const GROUP_KEY_PREFIX = 'celery-taskset-meta-';

/** The key (and pub/sub channel) of a task's result. */
export function taskKey(taskId: string): string {
  return TASK_KEY_PREFIX + taskId;
}

/** Python's naive `datetime.utcnow().isoformat()`: 2026-11-29T18:10:00.123000. */
export function pythonUtcIso(d: Date): string {
  return d.toISOString().replace(/Z$/, '000');
}

/** The JSON Celery stores for a state; throws EncodeError for a result JSON cannot hold. */
export function encodeTaskMeta(target: ResultTarget, state: string, result: unknown, traceback: string | null, extended: boolean): string {
  const meta: Record<string, unknown> = {
    status: state,
    result,
    traceback,
    children: childTuples(target.children),
    date_done: READY_STATES.has(state) ? pythonUtcIso(new Date()) : null,
  };
  if (target.group) meta['group_id'] = target.group;
  if (target.parentId) meta['parent_id'] = target.parentId;
  if (extended && target.request) {
    const r = target.request;
    meta['name'] = r.task;
    meta['args'] = r.args;
    meta['kwargs'] = r.kwargs;
    meta['worker'] = r.hostname;
    meta['retries'] = r.retries;
    meta['queue'] = r.queue;
  }
  meta['task_id'] = target.id;
  return encodeMeta(meta);
}

/** Read a stored meta (Python's or ours); MalformedMessageError for anything else. */
export function decodeTaskMeta(raw: string): ResultMeta & Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new MalformedMessageError(`stored result is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isPlainObject(parsed) || typeof parsed['status'] !== 'string') throw new MalformedMessageError('stored result must be an object with a status');
  return {
    ...parsed,
    status: parsed['status'],
    result: parsed['result'] ?? null,
    traceback: typeof parsed['traceback'] === 'string' ? parsed['traceback'] : null,
  };
}
