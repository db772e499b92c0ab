/**
 * AsyncResult: a caller's handle on one task. State changes are pushed into it by the backend
 * (rpc: reply messages; redis: pub/sub on the task's key), never polled; `get()` waits for a
 * ready state.
 */
import { whileHolding } from '../util/keep-alive.js';
import { ResultTimeoutError, ResultUnavailableError, TaskFailedError, TaskRevokedError } from '../core/errors.js';
import { parseIso } from '../core/dates.js';
import type { ExceptionInfo } from '../core/wire/exception.js';
import type { AsyncResult, GetOptions } from '../core/result.js';
import { READY_STATES, States } from '../core/states.js';

/** A stored or sent state, in Celery's result meta shape (the fields a handle reads). */
export interface ResultMeta {
  status: string;
  result: unknown;
  traceback: string | null;
  date_done?: string | null;
  children?: unknown[];
  parent_id?: string | null;
  group_id?: string | null;
}

/** The id of a child as Celery stores it: `[[id, parent], null]` (a result tuple), or a bare id. */
function childId(c: unknown): string | null {
  if (typeof c === 'string') return c;
  if (Array.isArray(c)) {
    const head = c[0];
    if (typeof head === 'string') return head;
    if (Array.isArray(head) && typeof head[0] === 'string') return head[0];
  }
  return null;
}

/** The state of one task as this process knows it; shared by every handle of that id. */
export class ResultState {
  state: string = States.PENDING;
  result: unknown = null;
  traceback: string | null = null;
  dateDone: Date | null = null;
  parentId: string | null = null;
  groupId: string | null = null;
  children: string[] = [];
  /** Set when the result can no longer arrive (connection gave up, reply queue expired). */
  lost: Error | undefined;
  readonly #waiters = new Set<() => void>();
  /**
   * Called when the first waiter arrives. A backend that indexes states weakly (so that a
   * dropped handle does not leak) must hold a waited-on state strongly here: a pending wait is
   * referenced only by the state's own waiter list, so a weak index alone lets a garbage
   * collection take the whole wait while the task runs, and its result then answers nobody.
   */
  onWait: (() => void) | undefined;
  /** Called when the last waiter gives up (a timeout) before a ready state: the backend may stop listening. */
  onIdle: (() => void) | undefined;

  /** Apply a state message. */
  update(state: string, result: unknown, traceback: string | null): void {
    if (READY_STATES.has(this.state)) return; // a late STARTED must not undo SUCCESS
    this.state = state;
    this.result = result;
    this.traceback = traceback;
    if (READY_STATES.has(state)) {
      const waiters = [...this.#waiters];
      this.#waiters.clear();
      for (const w of waiters) w();
    }
  }

  /** Apply a stored meta (every field Celery stores). */
  apply(meta: ResultMeta): void {
    if (READY_STATES.has(this.state)) return;
    if (meta.date_done) this.dateDone = new Date(parseIso(meta.date_done));
    if (meta.parent_id) this.parentId = meta.parent_id;
    if (meta.group_id) this.groupId = meta.group_id;
    if (Array.isArray(meta.children)) this.children = meta.children.map(childId).filter((c): c is string => c !== null);
    this.update(meta.status, meta.result ?? null, meta.traceback ?? null);
  }

  /** Forget what was seen (after `forget()`): PENDING again. */
  reset(): void {
    this.state = States.PENDING;
    this.result = null;
    this.traceback = null;
    this.dateDone = null;
  }

  /** The result cannot arrive any more: waiters wake up and get() rejects with `err`. */
  lose(err: Error): void {
    if (READY_STATES.has(this.state) || this.lost) return;
    this.lost = err;
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  /** A promise of a ready state (or of the result being lost), and how to stop waiting for it. */
  whenReady(): { ready: Promise<void>; cancel(): void } {
    if (READY_STATES.has(this.state) || this.lost) return { ready: Promise.resolve(), cancel() {} };
    let waiter!: () => void;
    const ready = new Promise<void>((resolve) => (waiter = resolve));
    if (this.#waiters.size === 0) this.onWait?.();
    this.#waiters.add(waiter);
    return {
      ready,
      cancel: () => {
        if (this.#waiters.delete(waiter) && this.#waiters.size === 0) this.onIdle?.();
      },
    };
  }
}

/** Turn a FAILURE result into the error a caller sees. */
export function failureError(taskId: string, result: unknown, traceback: string | null): TaskFailedError {
  const info = (result ?? {}) as Partial<ExceptionInfo>;
  const msg = Array.isArray(info.exc_message) ? info.exc_message : info.exc_message === undefined ? [] : [info.exc_message];
  return new TaskFailedError(taskId, String(info.exc_type ?? 'Exception'), msg, info.exc_module ?? null, traceback);
}

/** What a handle asks of its backend beyond the pushed states. */
export interface ResultSource {
  /** Read the stored meta again; null when nothing is stored (or the backend stores nothing readable). */
  read(taskId: string): Promise<ResultMeta | null>;
  /** Delete the stored result. */
  forget(taskId: string): Promise<void>;
  /** Revoke on every worker. */
  revoke(taskId: string, terminate: boolean): Promise<void>;
  /** A handle for a related id (parent, child), not read yet. */
  handle(taskId: string): AsyncResult;
}

/** AsyncResult backed by a ResultState. */
export class StateAsyncResult<R> implements AsyncResult<R> {
  constructor(
    readonly id: string,
    protected readonly st: ResultState,
    protected readonly source: ResultSource,
  ) {}

  get state(): string {
    return this.st.state;
  }

  /** The raw result (the return value, or the exception info on FAILURE). */
  get result(): unknown {
    return this.st.result;
  }

  get traceback(): string | null {
    return this.st.traceback;
  }

  get dateDone(): Date | null {
    return this.st.dateDone;
  }

  get parent(): AsyncResult | null {
    return this.st.parentId ? this.source.handle(this.st.parentId) : null;
  }

  get children(): AsyncResult[] {
    return this.st.children.map((id) => this.source.handle(id));
  }

  ready(): boolean {
    return READY_STATES.has(this.st.state);
  }

  successful(): boolean {
    return this.st.state === States.SUCCESS;
  }

  failed(): boolean {
    return this.st.state === States.FAILURE;
  }

  async refresh(): Promise<this> {
    const meta = await this.source.read(this.id);
    if (meta) this.st.apply(meta);
    return this;
  }

  async forget(): Promise<void> {
    await this.source.forget(this.id);
    this.st.reset();
  }

  revoke(options: { terminate?: boolean } = {}): Promise<void> {
    return this.source.revoke(this.id, options.terminate ?? false);
  }

  get(options?: GetOptions & { propagate?: true }): Promise<R>;
  get(options: GetOptions & { propagate: false }): Promise<R | Error>;
  async get(options: GetOptions = {}): Promise<R | Error> {
    // The process stays alive while a wait is pending (idle connections are unref'd).
    if (!this.ready() && !this.st.lost) await whileHolding(() => this.#wait(options));
    if (this.st.state === States.SUCCESS) return this.st.result as R;
    const err =
      this.st.lost && !this.ready()
        ? this.st.lost
        : this.st.state === States.REVOKED
          ? new TaskRevokedError(this.id)
          : failureError(this.id, this.st.result, this.st.traceback);
    if (options.propagate === false) return err;
    throw err;
  }

  async #wait(options: GetOptions): Promise<void> {
    const { timeout, interval } = options;
    const { ready, cancel } = this.st.whenReady();
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    if (interval !== undefined && interval > 0) poll = setInterval(() => void this.refresh().catch(() => undefined), interval * 1000);
    try {
      if (timeout === undefined) return await ready;
      const expired = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeout * 1000);
      });
      if ((await Promise.race([ready, expired])) === 'timeout' && !this.ready()) {
        cancel();
        throw new ResultTimeoutError(this.id, timeout);
      }
    } finally {
      clearTimeout(timer);
      clearInterval(poll);
    }
  }
}

/** A source for handles that cannot be read (ignored results, none): revoke still works where the app can. */
export function unreadableSource(revoke: ResultSource['revoke'], reason: (id: string) => string): ResultSource {
  const source: ResultSource = {
    read: async () => null,
    forget: async () => undefined,
    revoke,
    handle: (id) => new UnavailableAsyncResult(id, reason(id), source),
  };
  return source;
}

/** An AsyncResult that can never be fulfilled here; get() fails at once with the reason. */
export class UnavailableAsyncResult<R> extends StateAsyncResult<R> {
  constructor(
    id: string,
    private readonly reason: string,
    source: ResultSource,
  ) {
    super(id, new ResultState(), source);
  }

  override get(options?: GetOptions & { propagate?: true }): Promise<R>;
  override get(options: GetOptions & { propagate: false }): Promise<R | Error>;
  override get(): Promise<R | Error> {
    return Promise.reject(new ResultUnavailableError(this.reason));
  }
}
