/**
 * The JSON side of Celery messages: content types celeryts reads, kombu's type wrappers, and
 * the v2 body [args, kwargs, embed]. Shared by the v2 and v1 task decoders.
 */
import { MalformedMessageError } from '../errors.js';
import type { SignatureJSON } from '../signature.js';
import type { Embed } from './task.js';

export const JSON_TYPE = 'application/json';

/** Content types this codec reads. Anything else (notably pickle) is refused, never executed. */
export const SUPPORTED_CONTENT_TYPES: ReadonlySet<string> = new Set([JSON_TYPE]);

export function unwrapDate(v: unknown): string | null {
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

export function isPlainObject(v: unknown): v is Record<string, unknown> {
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
export function parseBody(body: Buffer, contentType: string | undefined): unknown {
  if (!isSupportedContentType(contentType)) {
    throw new MalformedMessageError(`unsupported content type '${contentType}' (celeryts accepts ${[...SUPPORTED_CONTENT_TYPES].join(', ')})`);
  }
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new MalformedMessageError(`body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

export function embedOf(e: Record<string, unknown>): Embed {
  const chord = e['chord'];
  return {
    callbacks: sigList(e['callbacks'], 'callbacks'),
    errbacks: sigList(e['errbacks'], 'errbacks'),
    chain: sigList(e['chain'], 'chain'),
    chord: isPlainObject(chord) ? (chord as unknown as SignatureJSON) : null,
  };
}

/** Parse a body into args, kwargs and embed. Accepts v2 bodies; throws MalformedMessageError otherwise. */
export function decodeTaskBody(body: Buffer, contentType: string | undefined): { args: unknown[]; kwargs: Record<string, unknown>; embed: Embed } {
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
