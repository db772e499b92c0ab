/**
 * Values that are there now or later. The worker's hot path runs a task in a handful of steps
 * (ack, body, result, handlers, ack); most of them finish synchronously for most tasks (a
 * body that returns a value, handlers left as the no-ops they are by default, no result to
 * send). Chaining them through `await` would cost a promise and a microtask per step, and,
 * with AsyncLocalStorage's promise hooks enabled, a hook call per promise. So each step
 * returns a MaybePromise and the next one runs at once when it got a plain value; the first
 * real promise switches the rest of the chain to `then`.
 */

/** A value, or a promise of it. */
export type MaybePromise<T> = T | PromiseLike<T>;

/** True for anything `await` would wait on (a thenable). */
export function isThenable<T>(v: MaybePromise<T>): v is PromiseLike<T> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as { then?: unknown }).then === 'function';
}

/** `next(value)`: now when `value` is plain, after it settles when it is a thenable. */
export function andThen<T, U>(value: MaybePromise<T>, next: (v: T) => MaybePromise<U>): MaybePromise<U> {
  return isThenable(value) ? Promise.resolve(value).then(next) : next(value);
}
