/**
 * Limits how far V8 lets the old generation grow past what survived the last mark-compact
 * before it runs the next one.
 *
 * Why: V8 sets the next mark-compact at the live size times a factor it picks from how cheap
 * GC has been, up to 4 when the process does little besides allocating. A worker draining a
 * queue is such a process: it keeps about 10 MB live, but each scavenge promotes some 0.5 MB
 * of messages, promises and socket replies still in flight, so old space filled with dead
 * objects up to 45 MB between two mark-compacts (Redis broker, draining 100,000 with the
 * defaults: 106-118 MB peak RSS, BENCHMARKS.md). At 1.5 (with V8's own floor of 8 MB above the
 * live size) the same drain peaked at 82 MB; the mark-compacts it adds cost a few ms each.
 * `--heap-growing-percent` is read after every mark-compact, so it can be set while running.
 */
import v8 from 'node:v8';

/** Start-up flags that mean the operator sized the old generation's growth: theirs wins. */
const USER_FLAGS = /--heap[-_]growing[-_]percent\b/;

/** What `capOldSpaceGrowth` did. */
export type OldSpaceGrowth = { state: 'capped'; percent: number } | { state: 'off' } | { state: 'node-flags' };

/**
 * Make V8 start a mark-compact once old space is `percent` % above what the last one kept
 * (0: V8's own factor, restored if an earlier call set one). A `--heap-growing-percent` in
 * node's flags or NODE_OPTIONS takes precedence.
 */
export function capOldSpaceGrowth(percent: number, nodeFlags = `${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`): OldSpaceGrowth {
  if (USER_FLAGS.test(nodeFlags)) return { state: 'node-flags' };
  current = Math.max(0, Math.floor(percent));
  reassertOldSpaceGrowth();
  return current > 0 ? { state: 'capped', percent: current } : { state: 'off' };
}

/** The percent set by the last capOldSpaceGrowth (undefined: never called, or node's flags won). */
let current: number | undefined;

/** Set the flag again: starting a worker thread puts V8's flags back to their defaults (Node 20). */
export function reassertOldSpaceGrowth(): void {
  if (current !== undefined) v8.setFlagsFromString(`--heap-growing-percent=${current}`);
}
