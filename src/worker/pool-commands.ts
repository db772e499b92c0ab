/**
 * Celery's pool remote-control commands, with its replies: `pool_grow` / `pool_shrink` (by n,
 * default 1; refused under autoscale), `autoscale` (new bounds; an error unless the worker runs
 * with --autoscale) and `pool_restart` (refused: see below). The async pool resizes at once;
 * the threads pool has a fixed set of threads and says so.
 */
import type { Autoscaler, ScalablePool } from './autoscaler.js';
import type { ControlCommand } from './control.js';

/** What these commands read of a worker. */
export interface PoolControlSource {
  pool: ScalablePool;
  /** 'async' or 'threads'. */
  poolKind: string;
  autoscaler: Autoscaler | undefined;
}

/** Python's repr of the ValueError Celery raises, which is what its worker replies with. */
const valueError = (message: string) => ({ error: `ValueError('${message}')` });

/** A whole-number argument (Python's CLI sends strings: int() them), else the default. */
function intArg(v: unknown, fallback: number | undefined): number | undefined {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isInteger(n) ? n : fallback;
}

/** pool_grow, pool_shrink, autoscale and pool_restart for one worker. */
export function poolCommands(w: PoolControlSource): Record<string, ControlCommand> {
  const resizeBy =
    (sign: 1 | -1, verb: 'grow' | 'shrink'): ControlCommand =>
    (args) => {
      if (w.autoscaler) return { error: `pool_${verb} is not supported with autoscale. Adjust autoscale range instead.` };
      if (w.poolKind !== 'async') return { error: `pool_${verb} is not supported by the ${w.poolKind} pool (a fixed set of threads: restart with another -c)` };
      const n = intArg(args['n'], 1)!;
      if (n < 0) return { error: `pool_${verb} needs n of 0 or more, not ${n}` };
      w.pool.resize(w.pool.concurrency + sign * n);
      return { ok: `pool will ${verb}` };
    };
  return {
    pool_grow: resizeBy(1, 'grow'),
    pool_shrink: resizeBy(-1, 'shrink'),
    autoscale: (args) => {
      if (!w.autoscaler) return valueError('Autoscale not enabled');
      const max = intArg(args['max'], undefined);
      const min = intArg(args['min'], undefined);
      const [newMax, newMin] = w.autoscaler.update(max, min);
      return { ok: `autoscale now max=${newMax} min=${newMin}` };
    },
    // Celery re-imports task modules in its pool processes when worker_pool_restarts is on. A
    // Node worker cannot unload an ES module, so restarts are never enabled: restart the worker.
    pool_restart: () => ({
      error:
        "ValueError('Pool restarts not enabled'): a celeryts worker cannot reload task modules in place; restart the worker (warm shutdown: SIGTERM) instead",
    }),
  };
}
