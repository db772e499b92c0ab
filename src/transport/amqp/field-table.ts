/**
 * How celeryts writes AMQP field tables (message headers, queue arguments): the one place that
 * picks the wire type of a JavaScript number.
 *
 * amqplib guesses the narrowest signed type: -128..127 as `b`, up to ±32767 as `s`, then `I`,
 * then `l`. Python's py-amqp (kombu, Celery, Flower) reads tables with another letter set
 * (amqp/serialization.py `_read_item`): `s` is a short *string* there, `b` is unsigned, `l` is
 * unsigned 64-bit, so a `clock: 300` or `timelimit: [300, null]` header derails its frame
 * parser. py-amqp itself writes every int as `I` (signed 32-bit) and only larger ones as `L`,
 * and reads `I`, `l` (non-negative values) and `d` the same way RabbitMQ does. So:
 *
 *   integer in -2^31..2^31-1   -> I  (signed 32-bit; what Python sends)
 *   integer >= 2^31            -> l  (64-bit; py-amqp reads it unsigned, right for these)
 *   integer < -2^31, fraction  -> d  (double; exact for every safe integer)
 *
 * Strings (`S`), booleans (`t`), null (`V`), Buffers (`x`) are left to amqplib: both sides agree.
 */

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

/** amqplib's escape for naming a field type: `{ '!': 'int', value: 300 }`. */
interface TypedField {
  '!': 'int' | 'long' | 'double';
  value: number;
}

/** The typed form of one number, as listed in the module comment. */
export function typedNumber(n: number): TypedField {
  if (!Number.isInteger(n)) return { '!': 'double', value: n };
  if (n >= INT32_MIN && n <= INT32_MAX) return { '!': 'int', value: n };
  return n > 0 ? { '!': 'long', value: n } : { '!': 'double', value: n };
}

/** One field value with every number in it (also inside lists and nested tables) typed. */
export function toFieldValue(value: unknown): unknown {
  if (typeof value === 'number') return typedNumber(value);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(toFieldValue);
  // Already typed (amqplib decodes `T` timestamps and `D` decimals this way, e.g. inside the
  // broker's x-death header): republish it as it came.
  if (isTyped(value)) return value;
  return toFieldTable(value as Record<string, unknown>);
}

/** amqplib's `{ '!': type, value }` escape. */
function isTyped(value: object): boolean {
  return typeof (value as { '!'?: unknown })['!'] === 'string' && 'value' in value;
}

/** A table (headers, x-arguments) ready for amqplib, numbers typed for Python and RabbitMQ. */
export function toFieldTable(table: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(table)) {
    // undefined is not a field value: amqplib would skip it, keep doing the same.
    if (value !== undefined) out[key] = toFieldValue(value);
  }
  return out;
}
