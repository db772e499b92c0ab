/**
 * The result backend port. The worker reports state changes through it; the client gets
 * AsyncResults from it. Adapters: backend/rpc.ts (results as messages to the caller's reply
 * queue, Celery's rpc://) and backend/none.ts.
 */
import type { AsyncResult } from './result.js';

/** Where a worker sends a task's state: taken from the task message. */
export interface ResultTarget {
  id: string;
  replyTo: string | null;
  correlationId: string | null;
}

/** The result backend port. */
export interface ResultBackend {
  /** 'rpc' or 'none'. */
  readonly name: string;
  /**
   * Worker side: report a state (STARTED, RETRY, SUCCESS, FAILURE, REVOKED) to whoever waits.
   * Resolves once sent; returns undefined when there is nothing to send (rpc: no reply_to;
   * none), so the worker's hot path need not wait a microtask for nothing. Never throws: a
   * failure is a rejection.
   */
  markState(target: ResultTarget, state: string, result: unknown, traceback?: string | null): Promise<void> | undefined;
  /** Client side: the reply_to for outgoing tasks, or undefined if this backend collects nothing. */
  replyTo(): Promise<string | undefined>;
  /** Client side: a handle on a task this client just sent. */
  track<R>(taskId: string): AsyncResult<R>;
  /** Client side: a handle on any task id (may not be able to wait, see rpc). */
  lookup<R>(taskId: string): AsyncResult<R>;
  close(): Promise<void>;
}
