/**
 * The caller's handle on a task (Celery's AsyncResult), implemented by backend/async-result.ts.
 * The same handle serves a task this process sent and any task id looked up with
 * `app.asyncResult(id)`; what it can tell depends on the backend (rpc://: only tasks this
 * client sent; redis://: any task whose result is stored and not yet expired).
 */

/** Options of `get()`, as Celery's AsyncResult.get. */
export interface GetOptions {
  /** Seconds to wait; a ResultTimeoutError after that. Default: wait as long as it takes. */
  timeout?: number;
  /**
   * true (default): a FAILURE or REVOKED rejects with TaskFailedError / TaskRevokedError.
   * false: it resolves with that error instead (see the overload).
   */
  propagate?: boolean;
  /**
   * Seconds between re-reads of the stored state while waiting. Waits are pushed (no polling);
   * this is only a safety net for a store whose notifications can be missed. Default: none.
   */
  interval?: number;
}

/** A task's handle. `R` is the task's return type. */
export interface AsyncResult<R = unknown> {
  /** The task id. */
  readonly id: string;
  /** Last state seen: PENDING (or unknown, or expired) until a state is stored or arrives. */
  readonly state: string;
  /** The return value on SUCCESS, the exception info `{exc_type, exc_message, exc_module}` on FAILURE, else the state's meta. */
  readonly result: unknown;
  /** The remote traceback of a failure, else null. */
  readonly traceback: string | null;
  /** When the task reached a ready state (as stored by the worker), else null. */
  readonly dateDone: Date | null;
  /** The task that sent this one (a chain step's predecessor, a callback's task), where stored. */
  readonly parent: AsyncResult | null;
  /** Tasks this one sent while it ran, where stored. */
  readonly children: AsyncResult[];
  /** Wait for the outcome: resolves with the return value, rejects with TaskFailedError / TaskRevokedError / ResultTimeoutError. */
  get(options?: GetOptions & { propagate?: true }): Promise<R>;
  /** Wait, and resolve with the error of a failed or revoked task instead of rejecting. */
  get(options: GetOptions & { propagate: false }): Promise<R | Error>;
  /** True once SUCCESS, FAILURE or REVOKED has been seen. */
  ready(): boolean;
  /** True once SUCCESS has been seen. */
  successful(): boolean;
  /** True once FAILURE has been seen. */
  failed(): boolean;
  /** Read the stored state again (no-op where the backend stores nothing); resolves with this handle. */
  refresh(): Promise<this>;
  /** Remove the stored result (Celery's forget). */
  forget(): Promise<void>;
  /** Revoke the task on every worker; `terminate` also stops it where it is running. */
  revoke(options?: { terminate?: boolean }): Promise<void>;
}
