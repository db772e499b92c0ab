/**
 * The bench's task module: a no-op task and the drain marker (see lib/marks.ts). Explicit
 * names, so Python's test app and the celery-node worker register the same two.
 */
import { task } from 'celeryts';
import { writeMark } from './lib/marks.js';

/** Does nothing: the whole cost measured is the queue's. */
export const noop = task({ name: 'bench.noop' }, () => null);

/** Write the time it ran at to `path`. */
export const mark = task({ name: 'bench.mark' }, (path: string) => {
  writeMark(path);
  return null;
});
