/**
 * Every error celeryts raises on purpose is a `CeleryTsError` with a stable string `code`.
 * Codes are documented once, in README.md ("Error codes"); never rename one.
 */
export class CeleryTsError extends Error {
  /** Stable, documented identifier such as `CELERYTS_NOT_REGISTERED`. */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The worker received a task name it has no task for. Mirrors celery.exceptions.NotRegistered. */
export class NotRegisteredError extends CeleryTsError {
  /** How Celery names this error on the wire, so Python callers raise celery.exceptions.NotRegistered. */
  readonly excType = 'NotRegistered';
  readonly excModule = 'celery.exceptions';
  get excArgs(): unknown[] {
    return [this.taskName];
  }
  constructor(
    readonly taskName: string,
    suggestions: readonly string[] = [],
  ) {
    super(
      'CELERYTS_NOT_REGISTERED',
      `Task of kind '${taskName}' is not registered` + (suggestions.length ? ` (did you mean ${suggestions.map((s) => `'${s}'`).join(', ')}?)` : ''),
    );
  }
}

/** The configuration is invalid: unknown key, wrong type, unreadable file. */
export class ConfigError extends CeleryTsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CELERYTS_CONFIG', message, options);
  }
}

/** A task module could not be found or threw while loading. */
export class ModuleLoadError extends CeleryTsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CELERYTS_MODULE_LOAD', message, options);
  }
}

/** Two tasks were given the same name, or a task has no name it could be known by. */
export class TaskNamingError extends CeleryTsError {
  constructor(message: string) {
    super('CELERYTS_TASK_NAMING', message);
  }
}

/** A message that is not valid Celery protocol v2 (bad JSON, wrong shape, missing headers). */
export class MalformedMessageError extends CeleryTsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CELERYTS_MALFORMED_MESSAGE', message, options);
  }
}

/** Waiting for a result took longer than the caller allowed. */
export class ResultTimeoutError extends CeleryTsError {
  constructor(
    readonly taskId: string,
    seconds: number,
  ) {
    super('CELERYTS_RESULT_TIMEOUT', `Timed out after ${seconds}s waiting for the result of task ${taskId}`);
  }
}

/** `result.get()` on a result that cannot arrive here (rpc results go only to the client that sent the task). */
export class ResultUnavailableError extends CeleryTsError {
  constructor(message: string) {
    super('CELERYTS_RESULT_UNAVAILABLE', message);
  }
}

/**
 * A result this client waited for cannot arrive any more: the rpc reply queue expired while the
 * client was disconnected (results sent meanwhile were dropped by the broker).
 */
export class ResultLostError extends CeleryTsError {
  constructor(
    readonly taskId: string,
    message: string,
  ) {
    super('CELERYTS_RESULT_LOST', message);
  }
}

/**
 * The remote task failed. `excType` and `excModule` are what the worker reported (the Python
 * exception class name when a Python worker ran it); `excMessage` is the error's message as
 * Python's `str(exc)` gives it, `excArgs` the exception's arguments as sent (`exc_message` on
 * the wire), `remoteTraceback` the worker's stack.
 */
export class TaskFailedError extends CeleryTsError {
  /** The error's message, e.g. `division by zero`. */
  readonly excMessage: string;
  constructor(
    readonly taskId: string,
    readonly excType: string,
    /** The exception's arguments (Celery's `exc_message` list). */
    readonly excArgs: unknown[],
    readonly excModule: string | null,
    readonly remoteTraceback: string | null,
  ) {
    const text = excArgs.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(', ');
    super('CELERYTS_TASK_FAILED', `${excType}: ${text}`);
    this.excMessage = text;
  }
}

/** The task was revoked (or expired) before it ran. */
export class TaskRevokedError extends CeleryTsError {
  constructor(
    readonly taskId: string,
    reason = 'revoked',
  ) {
    super('CELERYTS_TASK_REVOKED', `Task ${taskId} was ${reason}`);
  }
}

/** The broker connection failed or was closed while an operation needed it. */
export class BrokerError extends CeleryTsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CELERYTS_BROKER', message, options);
  }
}

/**
 * A running connection was lost and every reconnect attempt allowed (`brokerReconnectMaxRetries`)
 * failed: the broker is closed for good. A worker exits 1 on it (so a supervisor restarts it);
 * a client's pending result waits reject with it.
 */
export class BrokerGaveUpError extends CeleryTsError {
  constructor(
    readonly attempts: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('CELERYTS_BROKER_GAVE_UP', message, options);
  }
}

/** A worker with the same node name already answers on this broker. */
export class DuplicateNodeNameError extends CeleryTsError {
  constructor(readonly nodeName: string) {
    super('CELERYTS_DUPLICATE_NODENAME', `A worker named '${nodeName}' is already running on this broker; pick another name with -n`);
  }
}

/** A rate limit string that is not 'N', 'N/s', 'N/m' or 'N/h'. */
export class InvalidRateLimitError extends CeleryTsError {
  constructor(value: string) {
    super('CELERYTS_INVALID_RATE_LIMIT', `Invalid rate limit '${value}': expected a number, optionally followed by /s, /m or /h`);
  }
}

/** A task message whose body is over the worker's `maxMessageBytes`; rejected unparsed. */
export class MessageTooLargeError extends CeleryTsError {
  constructor(bytes: number, maxBytes: number) {
    super('CELERYTS_MESSAGE_TOO_LARGE', `message body of ${bytes} bytes is over maxMessageBytes (${maxBytes})`);
  }
}

/** An acks-late task whose worker died while it ran more often than `maxRedeliveries`: likely a task that kills its worker. */
export class RedeliveryLimitError extends CeleryTsError {
  constructor(
    readonly redeliveries: number,
    maxRedeliveries: number,
  ) {
    super(
      'CELERYTS_REDELIVERY_LIMIT',
      `started and lost its worker ${redeliveries} times, over maxRedeliveries (${maxRedeliveries}): the task may be killing its worker`,
    );
  }
}

/** The result backend cannot be reached or used (Redis down, a bad URL); the message names the backend with its password masked. */
export class ResultBackendError extends CeleryTsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CELERYTS_RESULT_BACKEND', message, options);
  }
}

/** A Celery exception that Python should rebuild as its own class (module + name on the wire). */
abstract class PythonVisibleError extends CeleryTsError {
  abstract readonly excType: string;
  abstract readonly excModule: string;
}

/** The soft time limit passed: the task's AbortSignal fires with this reason. */
export class SoftTimeLimitExceeded extends PythonVisibleError {
  readonly excType = 'SoftTimeLimitExceeded';
  readonly excModule = 'billiard.exceptions';
  constructor(seconds: number) {
    super('CELERYTS_SOFT_TIME_LIMIT', `SoftTimeLimitExceeded(${seconds})`);
  }
}

/** The hard time limit passed: the task was stopped and failed. */
export class TimeLimitExceeded extends PythonVisibleError {
  readonly excType = 'TimeLimitExceeded';
  readonly excModule = 'billiard.exceptions';
  constructor(seconds: number) {
    super('CELERYTS_TIME_LIMIT', `TimeLimitExceeded(${seconds})`);
  }
}

/**
 * A task's return value cannot be encoded as JSON (a BigInt, a circular object): the task fails
 * with this instead, as Celery fails it with kombu's EncodeError.
 */
export class EncodeError extends PythonVisibleError {
  readonly excType = 'EncodeError';
  readonly excModule = 'kombu.exceptions';
  constructor(detail: string, options?: { cause?: unknown }) {
    super('CELERYTS_ENCODE', detail, options);
  }
}

/**
 * A chord cannot complete: a header task failed (the body fails with this, as in Celery), or
 * the result backend cannot join chords (rpc://, none: refused when the chord is sent).
 */
export class ChordError extends PythonVisibleError {
  readonly excType = 'ChordError';
  readonly excModule = 'celery.exceptions';
  constructor(message: string) {
    super('CELERYTS_CHORD', message);
  }
}

/** The thread running the task died (Celery's WorkerLostError). */
export class WorkerLostError extends PythonVisibleError {
  readonly excType = 'WorkerLostError';
  readonly excModule = 'billiard.exceptions';
  constructor(detail: string) {
    super('CELERYTS_WORKER_LOST', `Worker exited prematurely: ${detail}`);
  }
}

/** A beat entry that cannot be scheduled (bad schedule, task, arguments or options); names the entry and the field. */
export class InvalidScheduleError extends CeleryTsError {
  constructor(
    readonly entry: string,
    readonly field: string,
    problem: string,
  ) {
    super('CELERYTS_INVALID_SCHEDULE', `beat entry '${entry}': ${field} ${problem}`);
  }
}

/** This beat instance stopped being the leader (its lock was lost or taken) while it worked. */
export class LeadershipLostError extends CeleryTsError {
  constructor(message: string) {
    super('CELERYTS_BEAT_LEADERSHIP_LOST', message);
  }
}
