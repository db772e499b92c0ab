/**
 * A signature: a serialisable description of one call (task name, args, kwargs, options).
 * Its JSON is exactly Celery's dict form, so Python and celeryts pass signatures to each other
 * as link callbacks and chain elements.
 */
import { currentApp } from './app-port.js';
import type { AsyncResult } from './result.js';
import type { SendOptions } from './send-options.js';
import type { Task } from './task.js';

/** Celery's wire form of a signature. */
export interface SignatureJSON {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: string | null;
  immutable: boolean;
  [extra: string]: unknown;
}

/**
 * The argument lists `task.s(...)` takes: any tail of the task's parameters (Celery's partial
 * signatures: `add.s(10)` fixes the last argument, the parent's result or `delay(5)` fills the
 * first). A non-tuple list (rest parameters, untyped tasks) is taken as it is.
 */
export type TrailingArgs<A extends unknown[]> = number extends A['length'] ? A : A extends [] ? [] : A extends [unknown?, ...infer R] ? A | TrailingArgs<R> : A;

type AnyOf<S extends unknown[]> = { [K in keyof S]: any };

/** The parameters of `A` still open once the trailing arguments `S` are given: what the signature takes when called. */
export type LeadingArgs<A extends unknown[], S extends unknown[]> = number extends A['length']
  ? A
  : A extends [...infer P, ...AnyOf<S>]
    ? P
    : A extends [infer H, ...infer T]
      ? [H, ...LeadingArgs<T, S>]
      : [];

/**
 * A call waiting to be made. `R` is the task's result type; `P` the arguments it still takes
 * in front of its own (from `delay(...)` or, in a chain, the previous step's result):
 * `unknown[]` when anything goes (signatures by name, and immutable ones, which ignore them).
 */
export class Signature<R = unknown, P extends unknown[] = unknown[]> {
  /** Set when the signature was made from a Task object, so its name can be resolved late. */
  readonly #task: Task<any, any> | undefined;
  #name: string | undefined;

  constructor(
    task: Task<any, any> | string,
    readonly args: unknown[] = [],
    readonly kwargs: Record<string, unknown> = {},
    readonly options: Record<string, unknown> = {},
    readonly immutable = false,
  ) {
    if (typeof task === 'string') this.#name = task;
    else {
      this.#task = task;
      this.#name = task.hasName ? task.name : undefined;
    }
  }

  /** Rebuild a signature from Celery's dict form. */
  static fromJSON(json: SignatureJSON): Signature {
    return new Signature(json.task, json.args ?? [], json.kwargs ?? {}, json.options ?? {}, json.immutable === true);
  }

  /** The task name; resolves names the loader has not assigned yet. */
  async resolveName(): Promise<string> {
    if (this.#name) return this.#name;
    const app = await currentApp();
    this.#name = await app.nameOf(this.#task!);
    return this.#name;
  }

  /** Celery's dict form. Throws if the task name is not known yet (call resolve() first). */
  toJSON(): SignatureJSON {
    const name = this.#name ?? (this.#task?.hasName ? this.#task.name : undefined);
    if (!name) throw new Error('celeryts: signature task name not resolved yet; await sig.resolve() before serialising');
    return { task: name, args: this.args, kwargs: this.kwargs, options: this.options, subtask_type: null, immutable: this.immutable };
  }

  /** Resolve the task name and return the dict form. */
  async resolve(): Promise<SignatureJSON> {
    await this.resolveName();
    return this.toJSON();
  }

  /** Send with extra positional args prepended (Celery's partial semantics; ignored when immutable). */
  delay(...args: P): Promise<AsyncResult<R>> {
    return this.applyAsync(args);
  }

  /** Send, merging args (prepended), kwargs and options into the signature's own. */
  async applyAsync(args: Partial<P> | P = [] as unknown as P, kwargs: Record<string, unknown> = {}, options: SendOptions = {}): Promise<AsyncResult<R>> {
    const name = await this.resolveName();
    const app = await currentApp();
    const a = this.immutable ? this.args : [...args, ...this.args];
    const k = this.immutable ? this.kwargs : { ...this.kwargs, ...kwargs };
    return app.sendTask<R>(name, a, k, { ...sendOptionsFromSignature(this.options), ...options });
  }

  /** A copy with more options, in Celery's snake_case wire form (queue, countdown, link, ...). */
  set(options: Record<string, unknown>): Signature<R, P> {
    const s = new Signature<R, P>(this.#task ?? this.#name!, this.args, this.kwargs, { ...this.options, ...options }, this.immutable);
    return s;
  }
}

/**
 * Python signatures carry apply_async options in snake_case; map the ones celeryts sends
 * with, so a chain or callback built in Python keeps its task id, reply queue and routing.
 */
export function sendOptionsFromSignature(options: Record<string, unknown>): import('./send-options.js').SendOptions {
  const o = options;
  const out: import('./send-options.js').SendOptions = {};
  const s = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const n = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  const taskId = s(o['task_id']);
  if (taskId) out.taskId = taskId;
  const replyTo = s(o['reply_to']);
  if (replyTo) out.replyTo = replyTo;
  const queue = s(o['queue']) ?? s(o['routing_key']);
  if (queue) out.queue = queue;
  const countdown = n(o['countdown']);
  if (countdown !== undefined) out.countdown = countdown;
  const eta = s(o['eta']);
  if (eta) out.eta = eta;
  const expires = s(o['expires']) ?? n(o['expires']);
  if (expires !== undefined) out.expires = expires;
  const priority = n(o['priority']);
  if (priority !== undefined) out.priority = priority;
  const tl = n(o['time_limit']);
  if (tl !== undefined) out.timeLimit = tl;
  const stl = n(o['soft_time_limit']);
  if (stl !== undefined) out.softTimeLimit = stl;
  const group = s(o['group_id']);
  if (group) out.group = group;
  if (o['ignore_result'] === true) out.ignoreResult = true;
  const link = o['link'];
  if (link) out.link = link as SignatureJSON | SignatureJSON[];
  const linkError = o['link_error'];
  if (linkError) out.linkError = linkError as SignatureJSON | SignatureJSON[];
  return out;
}
