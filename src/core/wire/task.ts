/**
 * Celery message protocol v2, as Python Celery 5.2 writes it (captured in test/fixtures/protocol/).
 *
 *   headers    lang, task, id, shadow, eta, expires, group, group_index, retries,
 *              timelimit [hard, soft], root_id, parent_id, argsrepr, kwargsrepr, origin,
 *              ignore_result
 *   properties content_type, content_encoding, delivery_mode 2, correlation_id = id,
 *              reply_to, priority
 *   body       [args, kwargs, {callbacks, errbacks, chain, chord}]
 *
 * Decoding is split in two so the worker can decide from headers alone (unknown task,
 * revoked id, expired) before paying for the body.
 *
 * Protocol v1 (no `task` header; everything in a body dict) is read too, see task-v1.ts.
 */
import type { Headers, MessageProperties, OutgoingMessage } from '../broker.js';
import { MalformedMessageError } from '../errors.js';
import type { SignatureJSON } from '../signature.js';
import { decodeTaskBody, JSON_TYPE, unwrapDate } from './json-body.js';
import { argsRepr, safeRepr } from './py-repr.js';
import { decodeTaskV1, isProtocolV1 } from './task-v1.js';

/** The third element of a v2 body. */
export interface Embed {
  callbacks: SignatureJSON[] | null;
  errbacks: SignatureJSON[] | null;
  /** Remaining chain, reversed: the next task is the last element. */
  chain: SignatureJSON[] | null;
  chord: SignatureJSON | null;
}

/** What the worker learns from headers alone. */
export interface TaskHeaders {
  task: string;
  id: string;
  lang: string;
  /** ISO 8601 or null. */
  eta: string | null;
  expires: string | null;
  retries: number;
  /** [hard, soft] seconds, either may be null. */
  timelimit: [number | null, number | null];
  rootId: string | null;
  parentId: string | null;
  group: string | null;
  groupIndex: number | null;
  shadow: string | null;
  origin: string | null;
  ignoreResult: boolean;
  argsrepr: string | null;
  kwargsrepr: string | null;
}

/** A fully decoded task message. */
export interface TaskMessage extends TaskHeaders {
  args: unknown[];
  kwargs: Record<string, unknown>;
  embed: Embed;
  replyTo: string | null;
  correlationId: string | null;
  priority: number | null;
}

/** What a sender provides; everything optional has Celery's default. */
export interface TaskSendSpec {
  id: string;
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  eta?: string | null;
  expires?: string | null;
  retries?: number;
  timelimit?: [number | null, number | null];
  rootId?: string | null;
  parentId?: string | null;
  group?: string | null;
  groupIndex?: number | null;
  shadow?: string | null;
  origin?: string | null;
  ignoreResult?: boolean;
  replyTo?: string | null;
  priority?: number | null;
  callbacks?: SignatureJSON[] | null;
  errbacks?: SignatureJSON[] | null;
  chain?: SignatureJSON[] | null;
  chord?: SignatureJSON | null;
}

/** Encode a task message exactly as Python Celery's `as_task_v2` does. */
export function encodeTask(spec: TaskSendSpec): OutgoingMessage {
  const args = spec.args ?? [];
  const kwargs = spec.kwargs ?? {};
  const headers: Headers = {
    lang: 'py',
    task: spec.task,
    id: spec.id,
    shadow: spec.shadow ?? null,
    eta: spec.eta ?? null,
    expires: spec.expires ?? null,
    group: spec.group ?? null,
    group_index: spec.groupIndex ?? null,
    retries: spec.retries ?? 0,
    timelimit: spec.timelimit ?? [null, null],
    root_id: spec.rootId ?? spec.id,
    parent_id: spec.parentId ?? null,
    argsrepr: argsRepr(args),
    kwargsrepr: safeRepr(kwargs),
    origin: spec.origin ?? null,
    ignore_result: spec.ignoreResult ?? false,
  };
  const embed: Embed = {
    callbacks: spec.callbacks ?? null,
    errbacks: spec.errbacks ?? null,
    chain: spec.chain ?? null,
    chord: spec.chord ?? null,
  };
  const properties: MessageProperties = {
    contentType: JSON_TYPE,
    contentEncoding: 'utf-8',
    deliveryMode: 2,
    correlationId: spec.id,
    priority: spec.priority ?? 0,
  };
  if (spec.replyTo) properties.replyTo = spec.replyTo;
  return { headers, properties, body: Buffer.from(JSON.stringify([args, kwargs, embed])) };
}

function str(h: Headers, key: string): string | null {
  const v = h[key];
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  throw new MalformedMessageError(`header '${key}' must be a string, got ${JSON.stringify(v)}`);
}

export function limit(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * Read the headers of a v2 task message. Throws MalformedMessageError when `task` or `id`
 * is missing: without them the message cannot be run, answered or even logged usefully.
 */
export function decodeTaskHeaders(headers: Headers | undefined): TaskHeaders {
  const h = headers ?? {};
  const task = str(h, 'task');
  const id = str(h, 'id');
  if (!task) throw new MalformedMessageError(`missing 'task' header${id ? ` (task id ${id})` : ''}; not a Celery protocol v2 message`);
  if (!id) throw new MalformedMessageError(`missing 'id' header for task '${task}'`);
  const tl = Array.isArray(h['timelimit']) ? h['timelimit'] : [];
  const retries = h['retries'];
  const gi = h['group_index'];
  return {
    task,
    id,
    lang: str(h, 'lang') ?? 'py',
    eta: unwrapDate(h['eta']),
    expires: unwrapDate(h['expires']),
    retries: typeof retries === 'number' && Number.isInteger(retries) && retries >= 0 ? retries : 0,
    timelimit: [limit(tl[0]), limit(tl[1])],
    rootId: str(h, 'root_id'),
    parentId: str(h, 'parent_id'),
    group: str(h, 'group'),
    groupIndex: typeof gi === 'number' ? gi : null,
    shadow: str(h, 'shadow'),
    origin: str(h, 'origin'),
    ignoreResult: h['ignore_result'] === true,
    argsrepr: typeof h['argsrepr'] === 'string' ? h['argsrepr'] : null,
    kwargsrepr: typeof h['kwargsrepr'] === 'string' ? h['kwargsrepr'] : null,
  };
}

/** Add the body and properties to headers the worker has already decoded. */
export function withBody(headers: TaskHeaders, properties: MessageProperties, body: Buffer): TaskMessage {
  const h = headers;
  const b = decodeTaskBody(body, properties.contentType);
  // Field by field, not `{ ...headers, ...body }`: V8 copies spreads of this size slowly (about
  // 7 µs a message, a third of a no-op task's whole budget); a literal is one allocation.
  return {
    task: h.task,
    id: h.id,
    lang: h.lang,
    eta: h.eta,
    expires: h.expires,
    retries: h.retries,
    timelimit: h.timelimit,
    rootId: h.rootId,
    parentId: h.parentId,
    group: h.group,
    groupIndex: h.groupIndex,
    shadow: h.shadow,
    origin: h.origin,
    ignoreResult: h.ignoreResult,
    argsrepr: h.argsrepr,
    kwargsrepr: h.kwargsrepr,
    args: b.args,
    kwargs: b.kwargs,
    embed: b.embed,
    replyTo: properties.replyTo ?? null,
    correlationId: properties.correlationId ?? null,
    priority: properties.priority ?? null,
  };
}

/** Decode a whole task message (headers, properties and body), protocol v2 or v1. */
export function decodeTask(headers: Headers | undefined, properties: MessageProperties, body: Buffer): TaskMessage {
  if (isProtocolV1(headers)) return decodeTaskV1(headers, properties, body);
  return withBody(decodeTaskHeaders(headers), properties, body);
}
