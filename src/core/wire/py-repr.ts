/**
 * Python reprs, as Celery writes them with `saferepr()`: a task message's `argsrepr` and
 * `kwargsrepr` headers, and the arguments, results and exceptions in events, so monitors
 * (Flower, `celery events`, `celery inspect active`) print them as Python would.
 * The walk has a size budget: a huge result costs at most `maxLen` characters of work, and a
 * circular structure prints `[...]` / `{...}` instead of overflowing the stack.
 */
import { serializeError } from './exception.js';

/** Celery's resultrepr_maxsize. */
export const REPR_MAXLEN = 1024;

/** True when a str repr must escape something in `s` (a backslash, a control character). */
function needsEscape(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}

/** Python's repr of a str: single quotes unless the text has a ' and no ". */
function strRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  // The common case (a plain word, an id) without the per-character walk: this runs for every
  // argument of every task sent (argsrepr).
  if (!s.includes(quote) && !needsEscape(s)) return quote + s + quote;
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

function numRepr(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  return String(n).replace(/e([+-])(\d)$/, 'e$10$2');
}

class Budget {
  out = '';
  constructor(readonly max: number) {}
  get spent(): boolean {
    return this.out.length > this.max;
  }
  add(s: string): void {
    this.out += s;
  }
}

function walk(v: unknown, b: Budget, seen: Set<object>): void {
  if (b.spent) return;
  if (v === null || v === undefined) return b.add('None');
  if (v === true) return b.add('True');
  if (v === false) return b.add('False');
  if (typeof v === 'number') return b.add(numRepr(v));
  if (typeof v === 'bigint') return b.add(v.toString());
  if (typeof v === 'string') return b.add(strRepr(v.length > b.max ? v.slice(0, b.max + 1) : v));
  if (typeof v === 'function') return b.add(`<function ${v.name || '<anonymous>'}>`);
  if (typeof v !== 'object') return b.add(strRepr(String(v)));
  if (v instanceof Date) return b.add(strRepr(Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString()));
  if (v instanceof Error) return b.add(excRepr(v));
  if (seen.has(v)) return b.add(Array.isArray(v) ? '[...]' : '{...}');
  seen.add(v);
  // Plain loops, no closures: this runs for every task sent (argsrepr, kwargsrepr).
  if (Array.isArray(v)) {
    b.add('[');
    for (let i = 0; i < v.length && !b.spent; i++) {
      if (i > 0) b.add(', ');
      walk(v[i], b, seen);
    }
    b.add(']');
  } else if (v instanceof Set) {
    b.add(v.size ? '{' : 'set(');
    let i = 0;
    for (const x of v) {
      if (b.spent) break;
      if (i++ > 0) b.add(', ');
      walk(x, b, seen);
    }
    b.add(v.size ? '}' : ')');
  } else if (ArrayBuffer.isView(v)) b.add(`b'<${v.byteLength} bytes>'`);
  else {
    b.add('{');
    let i = 0;
    for (const [k, x] of v instanceof Map ? v.entries() : Object.entries(v)) {
      if (b.spent) break;
      if (i++ > 0) b.add(', ');
      walk(k, b, seen);
      b.add(': ');
      walk(x, b, seen);
    }
    b.add('}');
  }
  seen.delete(v);
}

/** Python's saferepr: the repr of a JSON-like value, cut at `maxLen` characters with '...'. */
export function safeRepr(value: unknown, maxLen = REPR_MAXLEN): string {
  const b = new Budget(maxLen);
  try {
    walk(value, b, new Set());
  } catch {
    return '<unrepresentable>';
  }
  return b.out.length > maxLen ? `${b.out.slice(0, Math.max(0, maxLen - 3))}...` : b.out;
}

/** The repr of positional arguments as Celery writes argsrepr: a tuple. */
export function argsRepr(args: readonly unknown[], maxLen = REPR_MAXLEN): string {
  const list = safeRepr([...args], maxLen);
  if (!list.startsWith('[') || !list.endsWith(']')) return list;
  const inner = list.slice(1, -1);
  return args.length === 1 ? `(${inner},)` : `(${inner})`;
}

/** An exception's repr as Python prints it: `TypeError('message')`. */
export function excRepr(err: unknown): string {
  const info = serializeError(err);
  const args = info.exc_message.map((a) => safeRepr(a, 256)).join(', ');
  return `${info.exc_type}(${args})`;
}
