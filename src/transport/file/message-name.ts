/**
 * Message file names. A name is the message's position in its queue and its delivery history:
 *
 *   <255 - priority: 3 digits><enqueued at, ms: 13 digits>-<seq>-<process tag>.<generation>
 *
 * - Plain string order is delivery order: higher priority first, then older first, then the
 *   publishing process's sequence (so one process's publishes stay FIFO within a millisecond).
 * - The generation counts returns to the ready queue (reject-requeue, close, crash recovery):
 *   0 = never delivered, > 0 = redelivered. A requeue renames `<base>.<g>` to `<base>.<g+1>`, so
 *   the message keeps its place and no file name is ever reused; consumers rely on that to
 *   ignore watcher events for names they already know are gone.
 * Delayed messages (delayed/, published with delayMs) have names of their own, sorted by due
 * time: see newDelayedName.
 */
import { randomBytes } from 'node:crypto';

/** Highest priority the name encodes; AMQP's x-max-priority range is 1..255. */
export const MAX_PRIORITY = 255;

const NAME = /^(\d{3})(\d{13})-([0-9a-z]+)-([0-9a-z]+)\.(\d+)$/;
const DELAYED = /^(\d{13})-(\d{3})-([0-9a-z]+)-([0-9a-z]+)$/;
// Unique per process run: pid alone could repeat after a reboot with the same clock millisecond.
const processTag = process.pid.toString(36) + randomBytes(3).toString('hex');
let seq = 0;

/** What a message file name says about its message. */
export interface ParsedName {
  /** Everything before `.generation`: stable across requeues. */
  base: string;
  /** Milliseconds since the epoch when the message entered this queue. */
  enqueuedAt: number;
  generation: number;
}

/**
 * A fresh name for a message entering a queue. `priority` only counts for queues declared with
 * maxPriority (AMQP ignores it elsewhere), and is capped at that maximum.
 */
export function newMessageName(priority: number | undefined, maxPriority: number | undefined, now = Date.now()): string {
  return `${priorityKey(priority, maxPriority) + String(now).padStart(13, '0')}-${nextSeq()}-${processTag}.0`;
}

/** Parse a name, or undefined for anything that is not a message file (stray or foreign files). */
export function parseMessageName(name: string): ParsedName | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  return { base: name.slice(0, name.lastIndexOf('.')), enqueuedAt: Number(m[2]), generation: Number(m[5]) };
}

/**
 * A fresh name for a delayed message (delayed/ directory, see delay-mover.ts):
 *
 *   <due at, ms: 13 digits>-<255 - priority: 3 digits>-<seq>-<process tag>
 *
 * Plain string order is due order. It never parses as a ready name (no `.generation`).
 */
export function newDelayedName(dueAt: number, priority: number | undefined, maxPriority: number | undefined): string {
  return `${String(dueAt).padStart(13, '0')}-${priorityKey(priority, maxPriority)}-${nextSeq()}-${processTag}`;
}

/** When a delayed message is due (ms since the epoch), or undefined for any other file name. */
export function delayedDueAt(name: string): number | undefined {
  const m = DELAYED.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * The ready name of a due delayed message: its priority, its due time as the enqueue time (it
 * queues as if published when due, and a TTL counts from then, as after a RabbitMQ delay
 * tier), its seq and tag, generation 0. Derived, not fresh, so processes racing to move one
 * file aim at the same name, and unique because seq and tag are.
 */
export function readyNameOfDelayed(name: string): string | undefined {
  const m = DELAYED.exec(name);
  return m ? `${m[2]}${m[1]}-${m[3]}-${m[4]}.0` : undefined;
}

/** The name a message gets when it goes back to the ready queue: same place, next generation. */
export function requeuedName(name: string): string {
  const p = parseMessageName(name);
  return p ? `${p.base}.${p.generation + 1}` : name;
}

/** The 3-digit key that sorts higher priorities first. */
function priorityKey(priority: number | undefined, maxPriority: number | undefined): string {
  const eff = maxPriority ? Math.max(0, Math.min(priority ?? 0, maxPriority, MAX_PRIORITY)) : 0;
  return String(MAX_PRIORITY - eff).padStart(3, '0');
}

/** This process's next sequence number, fixed width so names sort by it. */
function nextSeq(): string {
  seq = (seq + 1) % 36 ** 7;
  return seq.toString(36).padStart(7, '0');
}
