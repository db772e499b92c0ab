/** rpc result messages: Celery's result meta as the body, transient, correlation_id = task id. */
import type { OutgoingMessage } from '../broker.js';
import { EncodeError, MalformedMessageError } from '../errors.js';
import { isPlainObject, JSON_TYPE } from './json-body.js';

/** The body of an rpc result message. */
export interface ResultBody {
  task_id: string;
  status: string;
  result: unknown;
  traceback: string | null;
  children: unknown[];
  date_done?: string;
}

/**
 * JSON for a result meta; a value JSON cannot hold (a BigInt, a cycle) throws EncodeError,
 * which the worker turns into a FAILURE as Celery does.
 */
export function encodeMeta(meta: object): string {
  try {
    return JSON.stringify(meta);
  } catch (err) {
    throw new EncodeError((err as Error)?.message ?? String(err), { cause: err });
  }
}

/** Encode a result as the rpc backend publishes it: transient, correlation_id = task id. */
export function encodeResult(body: ResultBody): OutgoingMessage {
  return {
    headers: {},
    properties: {
      contentType: JSON_TYPE,
      contentEncoding: 'utf-8',
      deliveryMode: 1,
      priority: 0,
      correlationId: body.task_id,
    },
    body: Buffer.from(encodeMeta(body)),
  };
}

/** Decode an rpc result message. */
export function decodeResult(body: Buffer): ResultBody {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new MalformedMessageError(`result is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isPlainObject(parsed) || typeof parsed['task_id'] !== 'string' || typeof parsed['status'] !== 'string') {
    throw new MalformedMessageError('result must be an object with task_id and status');
  }
  return {
    task_id: parsed['task_id'],
    status: parsed['status'],
    result: parsed['result'] ?? null,
    traceback: typeof parsed['traceback'] === 'string' ? parsed['traceback'] : null,
    children: Array.isArray(parsed['children']) ? parsed['children'] : [],
  };
}

/** Children as Celery stores and sends them: each AsyncResult's `as_tuple()`, `[[id, parent], null]`. */
export function childTuples(ids: readonly string[] | undefined): unknown[] {
  return ids ? ids.map((id) => [[id, null], null]) : [];
}
