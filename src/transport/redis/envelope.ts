/**
 * kombu's JSON envelope of a message on Redis (virtual transport, body_encoding base64), as
 * Python Celery 5.2 writes it (captured in test/fixtures/redis/):
 *
 *   {"body": "<base64>", "content-encoding": "utf-8", "content-type": "application/json",
 *    "headers": {...}, "properties": {"correlation_id": ..., "reply_to": ..., "delivery_mode": 2,
 *    "delivery_info": {"exchange": "", "routing_key": "celery"}, "priority": 0,
 *    "body_encoding": "base64", "delivery_tag": "<uuid4>"}}
 *
 * An entry of the `unacked` hash is json([envelope, exchange, routing_key]). Restoring a message
 * edits the envelope's text in place (redelivered flag, a fresh delivery tag) rather than
 * decoding and re-encoding it, so what the publisher wrote (numbers JSON.parse would round,
 * key order, Python's spacing) survives any number of restores.
 */
import { randomUUID } from 'node:crypto';
import type { Headers, MessageProperties } from '../../core/broker.js';
import { BrokerError } from '../../core/errors.js';
import type { StoredMessage } from '../virtual/driver.js';

/** Property names: the port's camelCase -> kombu's (AMQP's) snake_case. */
const PROPS: ReadonlyArray<readonly [keyof MessageProperties, string]> = [
  ['correlationId', 'correlation_id'],
  ['replyTo', 'reply_to'],
  ['deliveryMode', 'delivery_mode'],
  ['expiration', 'expiration'],
  ['messageId', 'message_id'],
];

/** The JSON text of a message's envelope, with a fresh delivery tag. */
export function encodeEnvelope(m: StoredMessage, tag: string = randomUUID()): string {
  const p = m.properties;
  const props: Record<string, unknown> = {};
  for (const [ours, theirs] of PROPS) if (p[ours] !== undefined) props[theirs] = p[ours];
  props['delivery_info'] = { exchange: m.exchange, routing_key: m.routingKey };
  props['priority'] = p.priority ?? 0;
  props['body_encoding'] = 'base64';
  props['delivery_tag'] = tag;
  return JSON.stringify({
    body: m.body.toString('base64'),
    'content-encoding': p.contentEncoding ?? null,
    'content-type': p.contentType ?? null,
    headers: m.headers,
    properties: props,
  });
}

/** A decoded envelope. */
export interface DecodedEnvelope extends StoredMessage {
  tag: string | undefined;
  redelivered: boolean;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Decode an envelope. Throws BrokerError for text that is not one (the caller delivers such a
 * message as garbage so the worker rejects it, rather than losing it).
 */
export function decodeEnvelope(text: string): DecodedEnvelope {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new BrokerError('not a kombu message: invalid JSON', { cause: err });
  }
  if (!isObject(raw)) throw new BrokerError('not a kombu message: not a JSON object');
  const props = isObject(raw['properties']) ? raw['properties'] : {};
  const info = isObject(props['delivery_info']) ? props['delivery_info'] : {};
  const body = raw['body'];
  const properties: MessageProperties = {};
  for (const [ours, theirs] of PROPS) {
    const v = props[theirs];
    if (v !== undefined && v !== null) (properties as Record<string, unknown>)[ours] = v;
  }
  if (typeof props['priority'] === 'number') properties.priority = props['priority'];
  if (typeof raw['content-type'] === 'string') properties.contentType = raw['content-type'];
  if (typeof raw['content-encoding'] === 'string') properties.contentEncoding = raw['content-encoding'];
  return {
    body: typeof body !== 'string' ? Buffer.alloc(0) : props['body_encoding'] === 'base64' ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8'),
    headers: isObject(raw['headers']) ? (raw['headers'] as Headers) : {},
    properties,
    exchange: typeof info['exchange'] === 'string' ? info['exchange'] : '',
    routingKey: typeof info['routing_key'] === 'string' ? info['routing_key'] : '',
    tag: typeof props['delivery_tag'] === 'string' ? props['delivery_tag'] : undefined,
    redelivered: info['redelivered'] === true,
  };
}

/**
 * The envelope text marked redelivered (delivery_info.redelivered = true, as kombu's restore
 * does) and carrying `newTag` as its delivery tag, edited in place. Text that is not an
 * envelope comes back unchanged.
 */
export function restoredEnvelope(text: string, newTag: string): string {
  let env: DecodedEnvelope;
  try {
    env = decodeEnvelope(text);
  } catch {
    return text;
  }
  let out = text;
  if (!env.redelivered) {
    // properties come last in kombu's and our envelopes, so the last delivery_info is theirs.
    const at = lastKey(out, 'delivery_info');
    const brace = at < 0 ? -1 : out.indexOf('{', at);
    if (brace >= 0) {
      const empty = /^\{\s*\}/.test(out.slice(brace));
      out = `${out.slice(0, brace + 1)}"redelivered": true${empty ? '' : ', '}${out.slice(brace + 1)}`;
    }
  }
  if (env.tag !== undefined) {
    const at = lastKey(out, 'delivery_tag');
    const old = JSON.stringify(env.tag);
    const start = at < 0 ? -1 : out.indexOf(old, at);
    if (start >= 0) out = out.slice(0, start) + JSON.stringify(newTag) + out.slice(start + old.length);
  }
  return out;
}

/** Index just past `"key"` followed by a colon, last occurrence; -1 if absent. */
function lastKey(text: string, key: string): number {
  const re = new RegExp(`"${key}"\\s*:`, 'g');
  let last = -1;
  for (let m = re.exec(text); m; m = re.exec(text)) last = m.index + m[0].length;
  return last;
}

/** An entry of the `unacked` hash: the envelope text exactly as stored, and where it came from. */
export interface UnackedEntry {
  envelope: string;
  exchange: string;
  routingKey: string;
}

/**
 * Split `[envelope, "exchange", "routing key"]` without re-encoding the envelope: scans the
 * first element's extent (strings and nesting), then parses the two short strings after it.
 */
export function parseUnacked(value: string): UnackedEntry | undefined {
  let i = value.indexOf('[');
  if (i < 0) return undefined;
  i++;
  while (i < value.length && /\s/.test(value[i]!)) i++;
  if (value[i] === '"') {
    // Not an envelope: the take stored unparseable text as a JSON string (see scripts.ts).
    try {
      const all = JSON.parse(value) as unknown;
      if (Array.isArray(all) && all.length === 3 && all.every((x) => typeof x === 'string')) {
        const [envelope, exchange, routingKey] = all as [string, string, string];
        return { envelope, exchange, routingKey };
      }
    } catch {
      // fall through
    }
    return undefined;
  }
  const start = i;
  let depth = 0;
  let inString = false;
  for (; i < value.length; i++) {
    const c = value[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) break;
    }
  }
  if (depth !== 0) return undefined;
  const envelope = value.slice(start, i + 1);
  try {
    const rest = JSON.parse(`[${value.slice(i + 1).replace(/^\s*,/, '')}`) as unknown;
    if (!Array.isArray(rest) || typeof rest[0] !== 'string' || typeof rest[1] !== 'string') return undefined;
    return { envelope, exchange: rest[0], routingKey: rest[1] };
  } catch {
    return undefined;
  }
}
