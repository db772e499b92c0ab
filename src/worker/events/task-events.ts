/**
 * The worker's in-process task events (worker-events.ts) as Celery's task events, field for
 * field as Celery 5.2's Request/strategy send them (test/fixtures/protocol/events.json).
 */
import type { Job } from '../job.js';
import type { WorkerEventMap } from '../worker-events.js';
import type { EventDispatcher } from '../../client/event-dispatcher.js';
import { argsRepr, excRepr, safeRepr } from '../../core/wire/py-repr.js';

/** Listeners to attach to a worker, one per in-process event. */
export type TaskEventListeners = { [E in keyof WorkerEventMap]?: (...args: WorkerEventMap[E]) => void };

/** SIGTERM's number: Celery reports the signal a terminated task got. */
const SIGTERM = 15;

/** task-received: what a monitor needs to name the task (args as reprs, header reprs preferred). */
export function receivedFields(job: Job): Record<string, unknown> {
  const m = job.msg;
  return {
    uuid: m.id,
    name: m.task,
    args: m.argsrepr ?? argsRepr(m.args),
    kwargs: m.kwargsrepr ?? safeRepr(m.kwargs),
    root_id: m.rootId,
    parent_id: m.parentId,
    retries: m.retries,
    eta: m.eta,
    expires: m.expires,
  };
}

/** Map worker events to dispatcher sends. */
export function taskEventListeners(d: EventDispatcher): TaskEventListeners {
  return {
    'task-received': (job) => d.send('task-received', receivedFields(job)),
    'task-started': (job) => d.send('task-started', { uuid: job.msg.id }),
    'task-succeeded': (job, result, runtimeMs) => d.send('task-succeeded', { uuid: job.msg.id, result: safeRepr(result), runtime: runtimeMs / 1000 }),
    'task-failed': (job, error, traceback) => d.send('task-failed', { uuid: job.msg.id, exception: excRepr(error), traceback }),
    'task-retried': (job, error, traceback) => d.send('task-retried', { uuid: job.msg.id, exception: excRepr(error), traceback }),
    'task-revoked': (headers, reason, terminated) =>
      d.send('task-revoked', { uuid: headers.id, terminated, signum: terminated ? SIGTERM : null, expired: reason === 'expired' }),
    'task-rejected': (headers, reason) => {
      if (!headers) return; // no id: nothing a monitor could attach it to
      // An unknown task is a failure to Celery's monitors (Consumer.on_unknown_task).
      if (reason === 'not_registered') d.send('task-failed', { uuid: headers.id, exception: `NotRegistered(${safeRepr(headers.task)})` });
      else d.send('task-rejected', { uuid: headers.id, requeue: false });
    },
    'task-finished': (job, state) => {
      if (state === 'REJECTED') d.send('task-rejected', { uuid: job.msg.id, requeue: true });
    },
  };
}
