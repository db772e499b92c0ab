/**
 * Messages between the worker and its task threads.
 *
 *   main ── run {jobId, name, args, kwargs, request} ─▶ thread   beforeStart + body
 *   main ◀─ outcome {jobId, outcome, finished} ──────── thread   (finished: no handlers, the exchange ends here)
 *   main    (reports the result, republishes a retry)
 *   main ── finish {jobId, state, error?} ────────────▶ thread   onSuccess/onFailure/onRetry, afterReturn
 *   main ◀─ finished {jobId} ──────────────────────────  thread
 *   main ── soft {jobId, seconds} ─────────────────────▶ thread   AbortSignal fires
 */
import type { Request } from '../../core/request.js';
import { Retry, type RetryOptions } from '../../core/retry.js';
import type { Outcome } from '../outcome.js';

/** An Error as it crosses a thread boundary, keeping what Celery's wire form needs. */
export interface WireError {
  name: string;
  message: string;
  stack: string | undefined;
  excType?: string;
  excModule?: string;
  excArgs?: unknown[];
}

/** The request minus the AbortSignal, which cannot cross threads. */
export type WireRequest = Omit<Request, 'signal'>;

/** A body outcome that can cross threads. */
export type WireOutcome =
  | { state: 'SUCCESS'; retval: unknown }
  | { state: 'FAILURE'; error: WireError }
  | { state: 'RETRY'; options: Omit<RetryOptions, 'exc' | 'eta'> & { exc?: WireError; eta?: string } };

export type ToThread =
  | { type: 'run'; jobId: string; name: string; args: unknown[]; kwargs: Record<string, unknown>; request: WireRequest }
  | { type: 'finish'; jobId: string; state: string; error?: WireError }
  | { type: 'soft'; jobId: string; seconds: number };

export type FromThread =
  | { type: 'ready' }
  | { type: 'load-error'; message: string }
  /** `finished`: the task has no handlers to run after it, so no finish/finished exchange follows. */
  | { type: 'outcome'; jobId: string; outcome: WireOutcome; finished: boolean }
  | { type: 'finished'; jobId: string };

/**
 * The request minus its AbortSignal, for postMessage: its own enumerable fields, read without
 * touching `signal` (the worker's request makes its AbortController on first read).
 */
export function toWireRequest(request: Request): WireRequest {
  const wire: Record<string, unknown> = {};
  for (const key of Object.keys(request)) if (key !== 'signal') wire[key] = request[key as keyof Request];
  return wire as unknown as WireRequest;
}

/** Flatten an error for postMessage. */
export function toWireError(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), stack: undefined };
  const e = err as Error & { excType?: unknown; excModule?: unknown; excArgs?: unknown };
  return {
    name: err.name,
    message: err.message,
    stack: err.stack,
    ...(typeof e.excType === 'string' ? { excType: e.excType } : {}),
    ...(typeof e.excModule === 'string' ? { excModule: e.excModule } : {}),
    ...(Array.isArray(e.excArgs) ? { excArgs: e.excArgs } : {}),
  };
}

/** Rebuild an Error on this side; serializeError() reads the same fields. */
export function fromWireError(w: WireError): Error {
  const err = new Error(w.message) as Error & { excType?: string; excModule?: string; excArgs?: unknown[] };
  err.name = w.name;
  if (w.stack) err.stack = w.stack;
  if (w.excType) err.excType = w.excType;
  if (w.excModule) err.excModule = w.excModule;
  if (w.excArgs) err.excArgs = w.excArgs;
  return err;
}

/** Outcome -> wire form (in the thread). */
export function toWireOutcome(o: Outcome): WireOutcome {
  if (o.state === 'SUCCESS') return { state: 'SUCCESS', retval: o.retval };
  if (o.state === 'RETRY') {
    const { exc, eta, ...rest } = o.retry.options;
    return {
      state: 'RETRY',
      options: {
        ...rest,
        ...(exc !== undefined ? { exc: toWireError(exc) } : {}),
        ...(eta !== undefined ? { eta: typeof eta === 'string' ? eta : eta.toISOString() } : {}),
      },
    };
  }
  return { state: 'FAILURE', error: toWireError(o.state === 'FAILURE' || o.state === 'LOST' ? o.error : new Error('revoked')) };
}

/** Wire form -> Outcome (in the worker). */
export function fromWireOutcome(w: WireOutcome): Outcome {
  if (w.state === 'SUCCESS') return { state: 'SUCCESS', retval: w.retval };
  if (w.state === 'FAILURE') return { state: 'FAILURE', error: fromWireError(w.error) };
  const { exc, ...rest } = w.options;
  return { state: 'RETRY', retry: new Retry({ ...rest, ...(exc ? { exc: fromWireError(exc) } : {}) }) };
}
