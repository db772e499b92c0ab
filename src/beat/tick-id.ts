/**
 * Task ids of beat's ticks: a UUID (version 7 layout) whose first 48 bits are the tick's fire
 * time in ms and whose other bits come from a SHA-1 of the entry name and that time. Every beat
 * instance gives one tick the same id, so if a tick is ever sent twice (a leader dying between
 * the broker's confirm and the state write, see README) both copies carry one id; and an id
 * says which run it is (`tickTime(id)`), which logs and tests read back.
 */
import { createHash } from 'node:crypto';

/** The task id of entry `name`'s tick due at `dueMs`. */
export function tickId(name: string, dueMs: number): string {
  const hash = createHash('sha1').update(`celeryts.beat\0${name}\0${dueMs}`).digest();
  const time = Math.max(0, Math.floor(dueMs)).toString(16).padStart(12, '0').slice(-12);
  const hex = hash.toString('hex');
  const variant = ((Number.parseInt(hex.slice(15, 16), 16) & 0x3) | 0x8).toString(16);
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${hex.slice(0, 3)}-${variant}${hex.slice(3, 6)}-${hex.slice(6, 18)}`;
}

/** The fire time encoded in a tick id (ms), or undefined for ids beat did not make. */
export function tickTime(id: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)) return undefined;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
