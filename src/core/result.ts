/** The caller's handle on a sent task (implemented by client/async-result.ts). */
export interface AsyncResult<R = unknown> {
  /** The task id. */
  readonly id: string;
  /** Last state seen by this client: PENDING until a state message arrives. */
  readonly state: string;
  /** Wait for the outcome: resolves with the return value, rejects with TaskFailedError / TaskRevokedError / ResultTimeoutError. */
  get(options?: { timeout?: number }): Promise<R>;
  /** True once SUCCESS, FAILURE or REVOKED has been seen. */
  ready(): boolean;
}
