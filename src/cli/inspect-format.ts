import { safeRepr } from '../core/wire/py-repr.js';

/** Print control replies the way `celery inspect` does, one block per node. */
export function formatReplies(method: string, replies: Record<string, unknown>): string {
  const nodes = Object.keys(replies).sort();
  const out: string[] = [];
  for (const node of nodes) {
    const answer = replies[node];
    out.push(`->  ${node}: ${isErrorReply(answer) ? 'ERROR' : 'OK'}`);
    out.push(indent(pretty(answer), 4));
  }
  out.push('', nodesOnline(nodes.length));
  void method;
  return out.join('\n');
}

/** A reply of the form `{ error: ... }`: the worker refused or failed the command. */
export function isErrorReply(answer: unknown): boolean {
  return isObject(answer) && 'error' in answer && !('ok' in answer);
}

/** Celery's closing line: `1 node online.` / `2 nodes online.` */
export function nodesOnline(n: number): string {
  return `${n} node${n === 1 ? '' : 's'} online.`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function indent(text: string, n: number): string {
  return text
    .split('\n')
    .map((l) => ' '.repeat(n) + l)
    .join('\n');
}

/** Objects with their keys sorted, at every depth (Python's json.dumps(sort_keys=True)). */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys(v[k])]),
  );
}

/**
 * Celery's CLI `pretty()`: lists as `* item` lines (dicts as Python reprs), {ok}/{error} as
 * their text, other objects as sorted JSON indented by 4.
 */
function pretty(n: unknown): string {
  if (Array.isArray(n)) return n.length ? n.map((x) => `* ${typeof x === 'string' ? x : safeRepr(x, Infinity)}`).join('\n') : '- empty -';
  if (isObject(n)) {
    if ('ok' in n) return indent(pretty(n['ok']), 4);
    if ('error' in n) return indent(pretty(n['error']), 4);
    return JSON.stringify(sortKeys(n), null, 4);
  }
  return typeof n === 'string' ? n : safeRepr(n, Infinity);
}
