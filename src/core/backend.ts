/**
 * The result backend port, shaped after Celery's split: `onTaskCall` (what an outgoing task
 * must carry for its result to come back), `markState` (store_result, on the worker) and
 * `lookup` (get_task_meta, in any process). Callers never ask "is there a reply queue?": the
 * backend answers for its own routing.
 *
 * Adapters, chosen by URL scheme in backend/create-backend.ts: rpc:// (backend/rpc.ts: states
 * as messages to the sender's reply queue, read once, by the sender), redis:// (backend/redis/:
 * Celery's `celery-task-meta-<id>` keys, read by anyone until they expire) and none.
 */
import type { AsyncResult } from './result.js';

/** The task a worker reports on, as its message describes it. */
export interface ResultTarget {
  id: string;
  replyTo: string | null;
  correlationId: string | null;
  /** Group the task belongs to (stored as `group_id`). */
  group?: string | null;
  /** Task that sent this one (stored as `parent_id`). */
  parentId?: string | null;
  /** Tasks this one sent while it ran (stored as `children`, Celery's result tuples). */
  children?: readonly string[];
  /** What Celery's `result_extended` stores: name, args, kwargs, worker, retries, queue. */
  request?: {
    task: string;
    args: unknown[];
    kwargs: Record<string, unknown>;
    hostname: string;
    retries: number;
    queue: string | null;
  };
}

/** What a task sent for its result must carry (Celery's on_task_call). */
export interface TaskCallRouting {
  /** The reply_to property (rpc://); absent when the backend stores results itself. */
  replyTo?: string;
}

/** What the last header task of a chord learns: the results in header order, or why the chord failed. */
export type ChordJoin = { results: unknown[] } | { error: string };

/**
 * Chords joined in the backend (Celery's native join on Redis): the sender stores the header
 * size, each header task's outcome is added as it finishes, and the one that completes the
 * count gets the ordered results, exactly once.
 */
export interface ChordSupport {
  /** Sender (set_chord_size): the number of header tasks of group `groupId`. */
  setChordSize(groupId: string, size: number): Promise<void>;
  /** Worker (on_chord_part_return): add one header outcome; the join when it was the last one, else null. */
  partReturn(groupId: string, taskId: string, groupIndex: number | null, state: string, result: unknown): Promise<ChordJoin | null>;
}

/** Saved groups (Celery's save_group / restore_group): the member ids of a group, by group id. */
export interface GroupStore {
  saveGroup(groupId: string, taskIds: readonly string[]): Promise<void>;
  /** The member ids, or null when nothing is saved under that id (or it expired). */
  restoreGroup(groupId: string): Promise<string[] | null>;
}

/** The result backend port. */
export interface ResultBackend {
  /** Present when this backend joins chords; absent, a chord is refused when it is sent. */
  readonly chords?: ChordSupport;
  /** Present when this backend saves groups. */
  readonly groups?: GroupStore;
  /** 'rpc', 'redis' or 'none'. */
  readonly name: string;
  /** True when a result is stored under its task id, readable by any process until it expires. */
  readonly storesById: boolean;
  /**
   * Worker side (store_result): record a state (STARTED, RETRY, SUCCESS, FAILURE, REVOKED) for
   * whoever waits or reads. Resolves once stored or sent; returns undefined when there is
   * nothing to do (rpc: no reply_to; none), so the worker's hot path need not wait a microtask
   * for nothing. Never throws: a failure is a rejection (EncodeError for a value JSON cannot hold).
   */
  markState(target: ResultTarget, state: string, result: unknown, traceback?: string | null): Promise<void> | undefined;
  /** Client side (on_task_call): what an outgoing task whose result is wanted must carry. */
  onTaskCall(): Promise<TaskCallRouting>;
  /** Client side: a handle on a task this client is about to send (registered before it is published). */
  track<R>(taskId: string): AsyncResult<R>;
  /** Any process (get_task_meta): a handle on any task id, its stored state read. */
  lookup<R>(taskId: string): Promise<AsyncResult<R>>;
  close(): Promise<void>;
}
