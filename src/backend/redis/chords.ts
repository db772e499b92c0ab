/**
 * Chords and saved groups on the Redis result backend, in Celery 5's layout so either language
 * can run a chord's header or body:
 *   celery-taskset-meta-<gid>      a saved group: {"result": [[gid, null], [[[id, null], null], ...]]}
 *   celery-taskset-meta-<gid>.s    the chord's header size (set by the sender)
 *   celery-taskset-meta-<gid>.t    extra header tasks added later (Celery's add_to_chord), if any
 *   celery-taskset-meta-<gid>.j    sorted set of JSON [1, task id, state, result] scored by group index
 * Each finished header task adds its entry and counts, in one script; the one that makes the
 * count reach size + extra gets the ordered entries and deletes the keys, so the body is sent
 * exactly once. (Celery does the same in a MULTI and deletes after sending the body.)
 */
import type { ChordJoin } from '../../core/backend.js';
import { READY_STATES, States } from '../../core/states.js';
import { encodeMeta } from '../../core/wire/result.js';
import { GROUP_KEY_PREFIX } from './meta.js';

/** KEYS: .j .t .s   ARGV: entry, score, expiry seconds (0: none). The entries in order when this was the last, else false. */
export const PART_RETURN = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
local count = redis.call('ZCOUNT', KEYS[1], '-inf', '+inf')
local extra = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local size = redis.call('GET', KEYS[3])
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
if size and count == tonumber(size) + extra then
  local entries = redis.call('ZRANGE', KEYS[1], 0, -1)
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return entries
end
return false
`;

/** The keys of group `groupId` (`suffix`: '', '.j', '.s', '.t'). */
export function groupKey(groupId: string, suffix = ''): string {
  return GROUP_KEY_PREFIX + groupId + suffix;
}

/** The entry a header task adds: Celery's [1, id, state, result]. */
export function chordEntry(taskId: string, state: string, result: unknown): string {
  return encodeMeta([1, taskId, state, result]);
}

/** How Python's repr shows a stored exception: TypeError('boom'). */
function excRepr(result: unknown): string {
  const r = (result ?? {}) as { exc_type?: unknown; exc_message?: unknown };
  const args = Array.isArray(r.exc_message) ? r.exc_message : [];
  return `${String(r.exc_type ?? 'Exception')}(${args.map((a) => (typeof a === 'string' ? `'${a}'` : JSON.stringify(a))).join(', ')})`;
}

/** Turn the ordered entries into the body's argument, or the ChordError message of the first failed member (Celery's wording). */
export function joinEntries(entries: readonly string[]): ChordJoin {
  const results: unknown[] = [];
  for (const raw of entries) {
    const [, tid, state, result] = JSON.parse(raw) as [number, string, string, unknown];
    if (state === States.FAILURE || state === States.REVOKED) return { error: `Dependency ${tid} raised ${excRepr(result)}` };
    results.push(READY_STATES.has(state) ? result : null);
  }
  return { results };
}

/** A saved group's value, as Celery's GroupResult.as_tuple(). */
export function encodeGroup(groupId: string, taskIds: readonly string[]): string {
  return encodeMeta({ result: [[groupId, null], taskIds.map((id) => [[id, null], null])] });
}

/** The member ids of a saved group's value. */
export function decodeGroup(raw: string): string[] {
  const meta = JSON.parse(raw) as { result?: unknown };
  const members = Array.isArray(meta.result) ? meta.result[1] : undefined;
  if (!Array.isArray(members)) return [];
  return members.map((m) => (Array.isArray(m) && Array.isArray(m[0]) ? String(m[0][0]) : String(m))).filter(Boolean);
}
