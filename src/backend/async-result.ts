/**
 * AsyncResult: a caller's handle on one task. State changes are pushed into it by the backend
 * (no polling); `get()` waits for a ready state.
 */
import { ResultTimeoutError, ResultUnavailableError, TaskFailedError, TaskRevokedError } from '../core/errors.js';
import type { ExceptionInfo } from '../core/wire/exception.js';
import type { AsyncResult } from '../core/result.js';
import { READY_STATES, States } from '../core/states.js';

/** The state of one task as this client knows it; shared by every AsyncResult of that id. */
export class ResultState {
  state: string = States.PENDING;
  result: unknown = null;
  traceback: string | null = null;
  #waiters: (() => void)[] = [];
  /**
   * Called when the first waiter arrives. A backend that indexes states weakly (so that a
   * dropped handle does not leak) must hold a waited-on state strongly here: a pending wait is
   * referenced only by the state's own waiter list, so a weak index alone lets a garbage
   * collection take the whole wait while the task runs, and its result then answers nobody.
   */
  onWait: (() => void) | undefined;

  /** Apply a state message. */
  update(state: string, result: unknown, traceback: string | null): void {
    if (READY_STATES.has(this.state)) return; // a late STARTED must not undo SUCCESS
    this.state = state;
    this.result = result;
    this.traceback = traceback;
    if (READY_STATES.has(state)) {
      for (const w of this.#waiters.splice(0)) w();
    }
  }

  /** Resolve once a ready state is reached. */
  whenReady(): Promise<void> {
    if (READY_STATES.has(this.state)) return Promise.resolve();
    if (this.#waiters.length === 0) this.onWait?.();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** Turn a FAILURE result into the error a caller sees. */
export function failureError(taskId: string, result: unknown, traceback: string | null): TaskFailedError {
  const info = (result ?? {}) as Partial<ExceptionInfo>;
  const msg = Array.isArray(info.exc_message) ? info.exc_message : info.exc_message === undefined ? [] : [info.exc_message];
  return new TaskFailedError(taskId, String(info.exc_type ?? 'Exception'), msg, info.exc_module ?? null, traceback);
}

/** AsyncResult backed by a ResultState. */
export class StateAsyncResult<R> implements AsyncResult<R> {
  constructor(
    readonly id: string,
    private readonly st: ResultState,
  ) {}

  get state(): string {
    return this.st.state;
  }

  ready(): boolean {
    return READY_STATES.has(this.st.state);
  }

  /** The raw result (the return value, or the exception info on FAILURE). */
  get result(): unknown {
    return this.st.result;
  }

  async get(options: { timeout?: number } = {}): Promise<R> {
    if (!this.ready()) {
      const timeout = options.timeout;
      if (timeout === undefined) await this.st.whenReady();
      else {
        let timer: NodeJS.Timeout | undefined;
        const expired = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeout * 1000);
        });
        const outcome = await Promise.race([this.st.whenReady(), expired]);
        clearTimeout(timer);
        if (outcome === 'timeout') throw new ResultTimeoutError(this.id, timeout);
      }
    }
    if (this.st.state === States.SUCCESS) return this.st.result as R;
    if (this.st.state === States.REVOKED) throw new TaskRevokedError(this.id);
    throw failureError(this.id, this.st.result, this.st.traceback);
  }
}

/** An AsyncResult that can never be fulfilled here; get() fails at once with the reason. */
export class UnavailableAsyncResult<R> implements AsyncResult<R> {
  readonly state = States.PENDING;
  constructor(
    readonly id: string,
    private readonly reason: string,
  ) {}
  ready(): boolean {
    return false;
  }
  get(): Promise<R> {
    return Promise.reject(new ResultUnavailableError(this.reason));
  }
}
