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
 */
import { randomBytes } from 'node:crypto';

/** Highest priority the name encodes; AMQP's x-max-priority range is 1..255. */
export const MAX_PRIORITY = 255;

const NAME = /^(\d{3})(\d{13})-([0-9a-z]+)-([0-9a-z]+)\.(\d+)$/;
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
  const eff = maxPriority ? Math.max(0, Math.min(priority ?? 0, maxPriority, MAX_PRIORITY)) : 0;
  seq = (seq + 1) % 36 ** 7;
  return (
    String(MAX_PRIORITY - eff).padStart(3, '0') +
    String(now).padStart(13, '0') +
    '-' +
    seq.toString(36).padStart(7, '0') +
    '-' +
    processTag +
    '.0'
  );
}

/** Parse a name, or undefined for anything that is not a message file (stray or foreign files). */
export function parseMessageName(name: string): ParsedName | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  return { base: name.slice(0, name.lastIndexOf('.')), enqueuedAt: Number(m[2]), generation: Number(m[5]) };
}

/** The name a message gets when it goes back to the ready queue: same place, next generation. */
export function requeuedName(name: string): string {
  const p = parseMessageName(name);
  return p ? `${p.base}.${p.generation + 1}` : name;
}
