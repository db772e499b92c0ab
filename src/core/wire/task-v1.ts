/** Celery protocol v1 (Celery 3, celery-node's default): everything in a body dict. */
import type { Headers, MessageProperties } from '../broker.js';
import { MalformedMessageError } from '../errors.js';
import { embedOf, isPlainObject, isSupportedContentType, parseBody, unwrapDate, unwrapKombu } from './json-body.js';
import { argsRepr, safeRepr } from './py-repr.js';
import { limit, type TaskMessage } from './task.js';

/**
 * True when a message carries no `task` header: protocol v1 (Celery 3, celery-node's default)
 * keeps everything in the body. Such a message goes through decodeTaskV1.
 */
export function isProtocolV1(headers: Headers | undefined): boolean {
  const task = headers?.['task'];
  return task === undefined || task === null;
}

/**
 * Decode a protocol v1 message, as Celery's proto1_to_proto2 does: the body is a dict
 *   {task, id, args, kwargs, retries, eta, expires, utc, callbacks, errbacks, timelimit [hard, soft],
 *    taskset (group), chord}
 * and there is no `task` header. A body that is not such a dict is a message with its headers
 * missing: MalformedMessageError, which says so.
 */
export function decodeTaskV1(headers: Headers | undefined, properties: MessageProperties, body: Buffer): TaskMessage {
  const headerId = typeof headers?.['id'] === 'string' ? headers['id'] : null;
  const notATask = () =>
    new MalformedMessageError(
      `missing 'task' header${headerId ? ` (task id ${headerId})` : ''}; not a Celery protocol v2 message, nor a v1 body {task, id, args, kwargs}`,
    );
  let b: unknown;
  try {
    b = parseBody(body, properties.contentType);
  } catch (err) {
    if (!isSupportedContentType(properties.contentType)) throw err;
    throw notATask();
  }
  if (!isPlainObject(b) || typeof b['task'] !== 'string' || !b['task'] || typeof b['id'] !== 'string' || !b['id']) throw notATask();
  const { task, id } = b;
  const args = b['args'] ?? [];
  const kwargs = b['kwargs'] ?? {};
  if (!Array.isArray(args)) throw new MalformedMessageError(`protocol v1 task ${task}[${id}]: 'args' must be a list`);
  if (!isPlainObject(kwargs)) throw new MalformedMessageError(`protocol v1 task ${task}[${id}]: 'kwargs' must be a mapping`);
  const tl = Array.isArray(b['timelimit']) ? b['timelimit'] : [];
  const retries = b['retries'];
  const group = b['taskset'] ?? b['group'];
  return {
    task,
    id,
    lang: 'py',
    eta: unwrapDate(b['eta']),
    expires: unwrapDate(b['expires']),
    retries: typeof retries === 'number' && Number.isInteger(retries) && retries >= 0 ? retries : 0,
    timelimit: [limit(tl[0]), limit(tl[1])],
    rootId: null,
    parentId: null,
    group: typeof group === 'string' ? group : null,
    groupIndex: null,
    shadow: null,
    origin: null,
    ignoreResult: false,
    argsrepr: argsRepr(args),
    kwargsrepr: safeRepr(kwargs),
    args: unwrapKombu(args) as unknown[],
    kwargs: unwrapKombu(kwargs) as Record<string, unknown>,
    embed: embedOf({ callbacks: b['callbacks'], errbacks: b['errbacks'], chord: b['chord'] }),
    // celery-node sends reply_to '' for "no reply".
    replyTo: properties.replyTo || null,
    correlationId: properties.correlationId ?? id,
    priority: properties.priority ?? null,
  };
}
