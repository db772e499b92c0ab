/**
 * V8 heap sizing for `celeryts worker` (semi-space-cap.ts, old-space-growth.ts) at the default
 * sizes, set by bin/celeryts.js before it imports the CLI. Why that early: importing the CLI's
 * modules alone allocates enough for V8 to grow the young generation to 8 MiB semi-spaces, and
 * V8 never shrinks them while the process is busy, so a cap set any later (once the config is
 * read) holds them at 8 instead of at the cap. The worker command sets the configured sizes
 * once it has read the config.
 */
import { defaults } from '../config/schema.js';
import { capOldSpaceGrowth } from '../util/old-space-growth.js';
import { capSemiSpace } from '../util/semi-space-cap.js';

/** Cap the heap at the defaults if `argv` runs the worker command (any other command: nothing). */
export function sizeWorkerHeapEarly(argv: readonly string[] = process.argv): void {
  if (!argv.slice(2).includes('worker')) return;
  capSemiSpace(defaults().workerMaxSemiSpaceMb);
  capOldSpaceGrowth(defaults().workerHeapGrowingPercent);
}
