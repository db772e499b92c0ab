/**
 * Celery message protocol v2, as Python Celery 5.2 writes it (see ../shared/protocol/).
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
 * Protocol v1 (no `task` header; everything in a body dict) is read too, see decodeTaskV1.
 */
import { MalformedMessageError } from './errors.js';
import type { Headers, MessageProperties, OutgoingMessage } from './broker.js';
import type { SignatureJSON } from './signature.js';

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

const JSON_TYPE = 'application/json';

/** Content types this codec reads. Anything else (notably pickle) is refused, never executed. */
export const SUPPORTED_CONTENT_TYPES: ReadonlySet<string> = new Set([JSON_TYPE]);

/** Python-style repr of JSON values, close enough for argsrepr/kwargsrepr and events. */
export function pyRepr(value: unknown): string {
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return Number.isInteger(value) || !Number.isFinite(value) ? String(value) : String(value);
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`)
      .join(', ')}}`;
  }
  return String(value);
}

/** Celery's argsrepr is the repr of a tuple. */
function argsRepr(args: unknown[]): string {
  return args.length === 1 ? `(${pyRepr(args[0])},)` : `(${args.map(pyRepr).join(', ')})`;
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
    kwargsrepr: pyRepr(kwargs),
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

function limit(v: unknown): number | null {
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

function unwrapDate(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  const u = unwrapKombu(v);
  if (typeof u === 'string') return u;
  throw new MalformedMessageError(`expected an ISO 8601 date, got ${JSON.stringify(v)}`);
}

/**
 * Newer kombu wraps non-JSON types as {"__type__": T, "__value__": V}; Python 5.2 sends plain
 * strings. Both become the plain value, so a task sees the same arguments from either.
 */
export function unwrapKombu(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(unwrapKombu);
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o['__type__'] === 'string' && '__value__' in o && Object.keys(o).length === 2) return o['__value__'];
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = unwrapKombu(v);
    return out;
  }
  return value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A signature the worker can send: a task name, and args, kwargs and options of the right kinds when present. */
function isSignature(s: unknown): boolean {
  if (!isPlainObject(s) || typeof s['task'] !== 'string') return false;
  const absentOr = (v: unknown, ok: (v: unknown) => boolean) => v === undefined || v === null || ok(v);
  return absentOr(s['args'], Array.isArray) && absentOr(s['kwargs'], isPlainObject) && absentOr(s['options'], isPlainObject);
}

// Checked here, not when the callback is sent: a bad link found after the task ran could
// neither be sent nor reported to anyone, so the whole message is refused as malformed.
function sigList(v: unknown, what: string): SignatureJSON[] | null {
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v) || !v.every(isSignature)) {
    throw new MalformedMessageError(`embed '${what}' must be a list of signatures ({task, args: [], kwargs: {}, options: {}})`);
  }
  return v as SignatureJSON[];
}

/** True when `contentType` (absent = JSON, as kombu assumes) is one this codec reads. */
export function isSupportedContentType(contentType: string | undefined): boolean {
  return SUPPORTED_CONTENT_TYPES.has(contentType ?? JSON_TYPE);
}

/** Check the content type, then parse JSON. Never evaluates anything else (pickle is refused here). */
function parseBody(body: Buffer, contentType: string | undefined): unknown {
  if (!isSupportedContentType(contentType)) {
    throw new MalformedMessageError(`unsupported content type '${contentType}' (celeryts accepts ${[...SUPPORTED_CONTENT_TYPES].join(', ')})`);
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new MalformedMessageError(`body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

function embedOf(e: Record<string, unknown>): Embed {
  const chord = e['chord'];
  return {
    callbacks: sigList(e['callbacks'], 'callbacks'),
    errbacks: sigList(e['errbacks'], 'errbacks'),
    chain: sigList(e['chain'], 'chain'),
    chord: isPlainObject(chord) ? (chord as unknown as SignatureJSON) : null,
  };
}

/** Parse a body into args, kwargs and embed. Accepts v2 bodies; throws MalformedMessageError otherwise. */
export function decodeTaskBody(
  body: Buffer,
  contentType: string | undefined,
): { args: unknown[]; kwargs: Record<string, unknown>; embed: Embed } {
  const parsed = parseBody(body, contentType);
  if (!Array.isArray(parsed) || parsed.length < 2 || !Array.isArray(parsed[0]) || !isPlainObject(parsed[1])) {
    throw new MalformedMessageError('body must be [args, kwargs, embed] (Celery protocol v2)');
  }
  const e = parsed[2] ?? {};
  if (!isPlainObject(e)) throw new MalformedMessageError('body embed must be an object');
  return {
    args: unwrapKombu(parsed[0]) as unknown[],
    kwargs: unwrapKombu(parsed[1]) as Record<string, unknown>,
    embed: embedOf(e),
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
    new MalformedMessageError(`missing 'task' header${headerId ? ` (task id ${headerId})` : ''}; not a Celery protocol v2 message, nor a v1 body {task, id, args, kwargs}`);
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
    kwargsrepr: pyRepr(kwargs),
    args: unwrapKombu(args) as unknown[],
    kwargs: unwrapKombu(kwargs) as Record<string, unknown>,
    embed: embedOf({ callbacks: b['callbacks'], errbacks: b['errbacks'], chord: b['chord'] }),
    // celery-node sends reply_to '' for "no reply".
    replyTo: properties.replyTo || null,
    correlationId: properties.correlationId ?? id,
    priority: properties.priority ?? null,
  };
}

/** Decode a whole task message (headers, properties and body), protocol v2 or v1. */
export function decodeTask(headers: Headers | undefined, properties: MessageProperties, body: Buffer): TaskMessage {
  if (isProtocolV1(headers)) return decodeTaskV1(headers, properties, body);
  return withBody(decodeTaskHeaders(headers), properties, body);
}

/** The body of an rpc result message. */
export interface ResultBody {
  task_id: string;
  status: string;
  result: unknown;
  traceback: string | null;
  children: unknown[];
  date_done?: string;
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
    body: Buffer.from(JSON.stringify(body)),
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

/** The `result` of a FAILURE, as Celery serialises exceptions. */
export interface ExceptionInfo {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string | null;
}

/** Turn a thrown value into Celery's exception shape. */
export function serializeError(err: unknown): ExceptionInfo {
  if (err instanceof Error) {
    // Errors may say how Python should see them (excType/excModule/excArgs), e.g. NotRegistered.
    const e = err as Error & { excType?: unknown; excModule?: unknown; excArgs?: unknown };
    const module = e.excModule;
    return {
      exc_type: typeof e.excType === 'string' ? e.excType : err.name || 'Error',
      exc_message: Array.isArray(e.excArgs) ? e.excArgs : [err.message],
      exc_module: typeof module === 'string' ? module : 'builtins',
    };
  }
  return { exc_type: 'Error', exc_message: [String(err)], exc_module: 'builtins' };
}
