/**
 * Tasks: the building blocks. `task(fn)` / `task(options, fn)` / `task(TaskClass)` make one
 * Task instance per task; that instance serves every call (a base class may cache a resource
 * on `this`). Options become attributes of the instance, custom ones included.
 */
import { fileURLToPath } from 'node:url';
import { currentApp } from './app-port.js';
import { bindArguments, paramSpec, type ParamSpec } from './params.js';
import { requestContext, type Request } from './request.js';
import { backoffSeconds, Retry, type RetryOptions } from './retry.js';
import type { AsyncResult } from './result.js';
import type { SendOptions } from './send-options.js';
import { Signature, type LeadingArgs, type TrailingArgs } from './signature.js';

/** Failure details handed to onFailure / onRetry / afterReturn. */
export interface ExceptionDetails {
  /** The error's stack (Celery's traceback). */
  traceback: string;
}

/** Options of `task()`. Any other key becomes an attribute of the task too. */
export interface TaskOptions<B extends TaskClass = TaskClass> {
  /** Explicit name; wins over the derived one. */
  name?: string;
  /** Pass the task instance as the first argument (Celery's bind=True). */
  bind?: boolean;
  /** Ack after the task returns instead of before it starts. */
  acksLate?: boolean;
  /** Send no result back. */
  ignoreResult?: boolean;
  /** Report STARTED when the worker starts it. */
  trackStarted?: boolean;
  /** '10/s', '100/m', '1000/h', or a bare number per second. */
  rateLimit?: string | null;
  maxRetries?: number | null;
  /** Seconds before a retry, by default. */
  defaultRetryDelay?: number;
  /** Queue the task is sent to by default. */
  queue?: string;
  /** Hard and soft time limits in seconds. */
  timeLimit?: number | null;
  softTimeLimit?: number | null;
  /** Task class to instantiate (must extend Task). */
  base?: B;
  /** Retry automatically when the body throws one of these (instanceof). */
  autoretryFor?: (abstract new (
    ...args: any[]
  ) => unknown)[];
  /** Exponential backoff for automatic retries: true = factor 1 s, or a factor in seconds. */
  retryBackoff?: boolean | number;
  /** Cap of the backoff in seconds (default 600). */
  retryBackoffMax?: number;
  /** Full jitter on the backoff (default true). */
  retryJitter?: boolean;
  /** Options for automatic retries (maxRetries, countdown). */
  retryKwargs?: Pick<RetryOptions, 'maxRetries' | 'countdown'>;
  beforeStart?: (taskId: string, args: unknown[], kwargs: Record<string, unknown>) => unknown;
  onSuccess?: (retval: unknown, taskId: string, args: unknown[], kwargs: Record<string, unknown>) => unknown;
  onFailure?: (exc: unknown, taskId: string, args: unknown[], kwargs: Record<string, unknown>, einfo: ExceptionDetails) => unknown;
  onRetry?: (exc: unknown, taskId: string, args: unknown[], kwargs: Record<string, unknown>, einfo: ExceptionDetails) => unknown;
  afterReturn?: (status: string, retval: unknown, taskId: string, args: unknown[], kwargs: Record<string, unknown>, einfo: ExceptionDetails | null) => unknown;
  [custom: string]: unknown;
}

/** A Task subclass constructor. */
export type TaskClass = new () => Task<any, any>;

const RESERVED = new Set(['base', 'name']);

/**
 * A registered function with options. Subclass it and implement `run()` for class-based tasks.
 * `A` is the argument tuple, `R` the (awaited) result type.
 */
export class Task<A extends unknown[] = unknown[], R = unknown> {
  /** Set by task() or by a subclass. */
  bind = false;
  acksLate: boolean | undefined = undefined;
  ignoreResult: boolean | undefined = undefined;
  trackStarted = false;
  rateLimit: string | null = null;
  maxRetries: number | null = 3;
  defaultRetryDelay = 180;
  queue: string | undefined = undefined;
  timeLimit: number | null = null;
  softTimeLimit: number | null = null;
  autoretryFor: (abstract new (...args: any[]) => unknown)[] = [];
  retryBackoff: boolean | number = false;
  retryBackoffMax = 600;
  retryJitter = true;
  retryKwargs: Pick<RetryOptions, 'maxRetries' | 'countdown'> = {};
  /** With acksLate: requeue (instead of failing) when the worker running it dies. */
  rejectOnWorkerLost = false;

  #name: string | undefined;
  /** Real path of the file that defined this task (the caller of task()). */
  definingFile: string | undefined;
  /** The name the defining file exports it under, once known. */
  exportName: string | undefined;
  #params: ParamSpec | undefined;

  /** The body. task(fn) sets it to fn; class-based tasks override it. */
  run(...args: A): R | Promise<R> {
    void args;
    throw new Error(`task ${this.#name ?? '(unnamed)'} has no run()`);
  }

  /** The canonical name. Throws if not assigned yet: the loader or app.nameOf() assigns it. */
  get name(): string {
    if (!this.#name) throw new Error(`celeryts: task defined in ${this.definingFile ?? '?'} has no name yet (load it through the app)`);
    return this.#name;
  }
  set name(value: string) {
    this.#name = value;
  }
  /** True once a name is known. */
  get hasName(): boolean {
    return this.#name !== undefined;
  }

  /** The request being executed, inside a call; throws outside one. */
  get request(): Request {
    const r = requestContext.getStore();
    if (!r) throw new Error('task.request is only available while the task runs');
    return r;
  }

  /**
   * Ask the worker to run this call again later (Celery's self.retry). Throws a Retry, so
   * `throw self.retry({ exc })` and `self.retry({ exc })` both stop the body here.
   */
  retry(options: RetryOptions = {}): never {
    void this.request; // only meaningful inside a call
    throw new Retry(options);
  }

  /** The Retry an error should turn into under autoretryFor, or undefined. */
  autoRetryFor(err: unknown, retries: number): Retry | undefined {
    if (err instanceof Retry) return err;
    if (!this.autoretryFor.some((cls) => err instanceof cls)) return undefined;
    const opts: RetryOptions = { exc: err, ...this.retryKwargs };
    if (this.retryBackoff !== false) {
      const factor = this.retryBackoff === true ? 1 : this.retryBackoff;
      opts.countdown = backoffSeconds(factor, retries, this.retryBackoffMax, this.retryJitter);
    }
    return new Retry(opts);
  }

  /** Handlers: override in a subclass or pass as options. */
  beforeStart(_taskId: string, _args: unknown[], _kwargs: Record<string, unknown>): unknown {
    return undefined;
  }
  onSuccess(_retval: unknown, _taskId: string, _args: unknown[], _kwargs: Record<string, unknown>): unknown {
    return undefined;
  }
  onFailure(_exc: unknown, _taskId: string, _args: unknown[], _kwargs: Record<string, unknown>, _einfo: ExceptionDetails): unknown {
    return undefined;
  }
  onRetry(_exc: unknown, _taskId: string, _args: unknown[], _kwargs: Record<string, unknown>, _einfo: ExceptionDetails): unknown {
    return undefined;
  }
  afterReturn(
    _status: string,
    _retval: unknown,
    _taskId: string,
    _args: unknown[],
    _kwargs: Record<string, unknown>,
    _einfo: ExceptionDetails | null,
  ): unknown {
    return undefined;
  }

  /** Send with positional arguments (Celery's delay). */
  delay(...args: A): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }

  /**
   * Send with args, kwargs and options (Celery's apply_async). `args` may stop early when
   * `kwargs` fills the rest by name (`add.applyAsync([2], { y: 3 })`); each given one is typed.
   */
  async applyAsync(args?: A | Partial<A>, kwargs?: Record<string, unknown>, options?: SendOptions): Promise<AsyncResult<R>> {
    const app = await currentApp();
    const name = await app.nameOf(this);
    const opts: SendOptions = { ...options };
    if (opts.queue === undefined && this.queue !== undefined) opts.queue = this.queue;
    if (opts.ignoreResult === undefined && this.ignoreResult !== undefined) opts.ignoreResult = this.ignoreResult;
    if (opts.timeLimit === undefined && this.timeLimit != null) opts.timeLimit = this.timeLimit;
    if (opts.softTimeLimit === undefined && this.softTimeLimit != null) opts.softTimeLimit = this.softTimeLimit;
    return app.sendTask<R>(name, (args ?? []) as unknown[], kwargs ?? {}, opts);
  }

  /**
   * A signature of a call, partial as in Celery: the arguments given are the last ones, those
   * given later (`delay(5)`, or a chain's previous result) come first: `add.s(10)` is add(?, 10).
   */
  s<S extends TrailingArgs<A>>(...args: S): Signature<R, LeadingArgs<A, S>> {
    return new Signature<R, LeadingArgs<A, S>>(this, args);
  }

  /** An immutable signature, all arguments given: ignores the parent's result in chains and callbacks. */
  si(...args: A): Signature<R, unknown[]> {
    return new Signature<R, unknown[]>(this, args, {}, {}, true);
  }

  /** A signature with args, kwargs and options (Celery's signature()). */
  signature(args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: Record<string, unknown> = {}): Signature<R> {
    return new Signature<R>(this, args, kwargs, options);
  }

  /**
   * Run the body for one request: binds kwargs by parameter name and, with bind, passes the
   * task first. The worker calls this inside requestContext.
   */
  invoke(args: unknown[], kwargs: Record<string, unknown>): R | Promise<R> {
    this.#params ??= this.#readParams();
    const bound = bindArguments(this.#params, args, kwargs, this.#shortName());
    return this.bind ? (this.run as (...a: unknown[]) => R | Promise<R>)(this, ...bound) : this.run(...(bound as A));
  }

  #readParams(): ParamSpec {
    const spec = paramSpec(this.run);
    // With bind the first parameter is the task itself, not a keyword target.
    if (this.bind && spec.names.length) {
      return { ...spec, names: spec.names.slice(1), kwargsIndex: spec.kwargsIndex - 1, required: Math.max(0, spec.required - 1) };
    }
    return spec;
  }

  /** The name Python's TypeErrors use: `add` for proj.tasks.add. */
  #shortName(): string {
    const name = this.#name ?? (this.run.name || 'task');
    return name.slice(name.lastIndexOf('.') + 1);
  }
}

type AnyFn = (...args: any[]) => any;
// `Function` (not a call signature) as the constraint leaves parameters uncontextualised, so
// defaults like `y = 10` keep their own type instead of becoming any or unknown.
type ArgsOf<F> = F extends (...args: infer A) => unknown ? A : never;
type ResultOf<F> = F extends (...args: any[]) => infer R ? R : never;
/** The task type task() returns: the base class's own members plus typed calling methods. */
export type TaskOf<A extends unknown[], R, B extends TaskClass = typeof Task> = Omit<InstanceType<B>, keyof Task> & Task<A, R>;

/** Where the tasks made in this process are listed, for the loader to name. */
const CREATED = Symbol.for('celeryts.createdTasks');
const store = globalThis as unknown as { [CREATED]?: Task<any, any>[] };

/** Every task created in this process so far, in creation order. */
export function createdTasks(): readonly Task<any, any>[] {
  return (store[CREATED] ??= []);
}

/** The file that called task(): the first stack frame outside this file. */
function callerFile(): string | undefined {
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_e, frames) => frames;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder, task);
    const frames = holder.stack ?? [];
    for (const f of frames) {
      const file = f.getFileName();
      if (!file || file.startsWith('node:')) continue;
      return file.startsWith('file://') ? fileURLToPath(file) : file;
    }
    return undefined;
  } finally {
    Error.prepareStackTrace = original;
  }
}

// Plain functions infer through F (so `(x: number, y = 10) => ...` keeps y: number); bound
// ones through A and R, so `self` is typed from `base` before the function is checked.
/** Register a class-based task (a Task subclass implementing run()). */
export function task<C extends TaskClass>(cls: C, options?: TaskOptions): InstanceType<C>;
/** Make a task from a function. */
export function task<F extends Function>(fn: F): TaskOf<ArgsOf<F>, Awaited<ResultOf<F>>>;
/** Make a bound task: the function receives the task instance (typed as the base class) first. */
export function task<A extends unknown[], R, B extends TaskClass = typeof Task>(
  options: TaskOptions<B> & { bind: true },
  fn: (self: InstanceType<B>, ...args: A) => R,
): TaskOf<A, Awaited<R>, B>;
/** Make a task from a function, with options. */
export function task<F extends Function, B extends TaskClass = typeof Task>(options: TaskOptions<B>, fn: F): TaskOf<ArgsOf<F>, Awaited<ResultOf<F>>, B>;
export function task(a: unknown, b?: unknown): Task<any, any> {
  let options: TaskOptions = {};
  let instance: Task<any, any>;
  if (typeof a === 'function' && a.prototype instanceof Task) {
    instance = new (a as TaskClass)();
    options = (b as TaskOptions | undefined) ?? {};
  } else {
    const fn = (typeof a === 'function' ? a : b) as AnyFn | undefined;
    if (typeof a !== 'function') options = (a as TaskOptions | undefined) ?? {};
    if (typeof fn !== 'function') throw new TypeError('task() needs a function or a Task subclass');
    const Base = options.base ?? Task;
    if (!(Base === Task || Base.prototype instanceof Task)) throw new TypeError('task({ base }) must be a subclass of Task');
    instance = new Base();
    instance.run = fn;
  }
  for (const [key, value] of Object.entries(options)) {
    if (!RESERVED.has(key)) (instance as unknown as Record<string, unknown>)[key] = value;
  }
  if (options.name) instance.name = options.name;
  instance.definingFile = callerFile();
  (store[CREATED] ??= []).push(instance);
  return instance;
}
