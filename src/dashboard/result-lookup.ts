/**
 * Results by task id through the app's configured result backend (Flower's
 * /api/task/result/<id>), only when that backend stores results where anyone can read them.
 * rpc:// sends a result once, to the client that sent the task, and none keeps nothing: for
 * those the API answers 503 as Flower does for a disabled backend, and the page shows what the
 * events said instead.
 *
 * Only the App's public surface is used (`backend().name`, `asyncResult(id)`, and the handle's
 * `state`, `ready()`, `get()`, plus `result`/`traceback` where the handle has them), so any
 * backend that implements the port works here unchanged.
 */
import type { App } from '../app.js';

/** Backends that cannot answer for an arbitrary task id. */
const NOT_STORING = new Set(['rpc', 'none', 'disabled']);

/** Flower's result answer. */
export interface ResultAnswer {
  'task-id': string;
  state: string;
  result?: unknown;
  traceback?: string | null;
}

/** Does the app's backend store results by id? */
export async function backendStoresResults(app: App): Promise<boolean> {
  return !NOT_STORING.has((await app.backend()).name);
}

/** A JSON-safe form of a result (Flower's safe_result: repr when not encodable). */
function safe(v: unknown): unknown {
  try {
    JSON.stringify(v);
    return v;
  } catch {
    return String(v);
  }
}

/** Read the state (and, when ready or within `timeoutSeconds`, the outcome) of `taskId`. */
export async function lookupResult(app: App, taskId: string, timeoutSeconds = 0): Promise<ResultAnswer> {
  const handle = (await app.asyncResult(taskId)) as Awaited<ReturnType<App['asyncResult']>> & { result?: unknown; traceback?: string | null };
  if (timeoutSeconds > 0 || handle.ready()) {
    try {
      const value = await handle.get({ timeout: timeoutSeconds > 0 ? timeoutSeconds : 0.001 });
      return { 'task-id': taskId, state: handle.state, result: safe(value) };
    } catch (err) {
      if (!handle.ready()) return { 'task-id': taskId, state: handle.state };
      const e = err as { message?: string; remoteTraceback?: string; excType?: string };
      const result = 'result' in handle ? safe(handle.result) : `${e.excType ?? 'Error'}(${JSON.stringify(e.message ?? '')})`;
      return { 'task-id': taskId, state: handle.state, result, traceback: handle.traceback ?? e.remoteTraceback ?? null };
    }
  }
  return { 'task-id': taskId, state: handle.state };
}
