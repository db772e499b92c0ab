/**
 * Keeps V8's young generation ("new space": two semi-spaces) at or under a size for the
 * rest of the process's life.
 *
 * Why: V8 doubles a semi-space each time the bytes that survived scavenges since the last
 * growth exceed its size, up to 16 MiB. A worker draining a queue always has messages in
 * flight, so its new space reaches 2 x 16 MiB within seconds, and the socket buffers those
 * dead messages still point at wait for the next scavenge: about 30 MB of a 105-130 MB
 * peak. At 4 MiB the worker peaked at 75-88 MB draining 100,000 tasks for the same CPU
 * per task (BENCHMARKS.md). `--max-semi-space-size` does this too, but only as a start-up
 * flag; the growth factor is read at every growth, so it can be changed while running:
 * after each GC the factor is set so that the next growth stops at the cap (1 once there).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

const MIB = 1024 * 1024;
/** V8's own default growth factor, restored by `stop()`. */
const V8_GROWTH_FACTOR = 2;
/** Start-up flags that mean the operator sized the young generation: theirs wins. */
const USER_FLAGS = /--(?:(?:max|min)[-_]semi[-_]space[-_]size|semi[-_]space[-_]growth[-_]factor)\b/;

/** What `capSemiSpace` did. */
export type SemiSpaceCap =
  | { state: 'capped'; mib: number; stop(): void }
  /** mib was 0: V8's own sizing. */
  | { state: 'off' }
  /** NODE_OPTIONS or node's flags size the young generation already. */
  | { state: 'node-flags' };

/** One semi-space's current size in bytes (new space counts both halves). */
export function semiSpaceBytes(): number {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return space ? space.space_size / 2 : 0;
}

/** The growth-factor setter of the cap in force, if any. */
let steerCurrent: (() => void) | undefined;
/** Ends the cap in force, if any: a new call replaces it. */
let stopCurrent: (() => void) | undefined;

/**
 * Cap this process's semi-spaces at `mib` MiB (0: leave V8's sizing alone). Node flags
 * that size the young generation, on the command line or in NODE_OPTIONS, take precedence.
 * A call replaces the cap of an earlier one (the worker caps at the default before it has
 * read its config, then at the configured size).
 *
 * V8 only grows new space, never shrinks it while busy: a cap set after the young generation
 * has grown past it holds it where it is. Cap before the work that allocates (the worker's
 * start-up, importing and compiling modules, grew it to 8 MiB within a second).
 */
export function capSemiSpace(mib: number, nodeFlags = `${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`): SemiSpaceCap {
  stopCurrent?.();
  if (mib <= 0) return { state: 'off' };
  if (USER_FLAGS.test(nodeFlags)) return { state: 'node-flags' };
  const limit = mib * MIB;
  // Set on every call, not only on a change: starting a worker thread puts V8's flags back to
  // their defaults (seen on Node 20), and setting one costs about 3 µs.
  const steer = () => {
    const size = semiSpaceBytes();
    // The largest whole factor whose growth stays within the cap: 1 (no growth) once there.
    const factor = size > 0 ? Math.max(1, Math.floor(limit / size)) : 1;
    v8.setFlagsFromString(`--semi-space-growth-factor=${factor}`);
  };
  steer();
  steerCurrent = steer;
  // V8 only grows (or shrinks, when idle) new space during a GC, so steering after each is enough.
  const observer = new PerformanceObserver(steer);
  observer.observe({ entryTypes: ['gc'] });
  const stop = () => {
    observer.disconnect();
    if (steerCurrent !== steer) return;
    steerCurrent = undefined;
    stopCurrent = undefined;
    v8.setFlagsFromString(`--semi-space-growth-factor=${V8_GROWTH_FACTOR}`);
  };
  stopCurrent = stop;
  return { state: 'capped', mib, stop };
}

/**
 * Set the growth factor again now. Call once a worker thread is online: its start reset
 * V8's flags, and the next GC would otherwise grow new space before the cap's observer runs.
 */
export function reassertSemiSpaceCap(): void {
  steerCurrent?.();
}
