/**
 * Celery's pool remote-control commands, with its replies: `pool_grow` / `pool_shrink` (by n,
 * default 1; refused under autoscale), `autoscale` (new bounds; an error unless the worker runs
 * with --autoscale) and `pool_restart` (with workerPoolRestarts, the threads pool only). The
 * async pool resizes at once; the threads pool has a fixed set of threads and says so.
 */
import type { Autoscaler, ScalablePool } from './autoscaler.js';
import type { ControlCommand } from './control.js';

/** What these commands read of a worker. */
export interface PoolControlSource {
  pool: ScalablePool;
  /** 'async' or 'threads'. */
  poolKind: string;
  autoscaler: Autoscaler | undefined;
  /** Whether pool_restart is allowed (config workerPoolRestarts). */
  restartsEnabled: boolean;
  /** Restarts the pool's threads; absent for the async pool. */
  restart: (() => void) | undefined;
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
    // Celery restarts its pool processes (which import the task modules anew) when
    // worker_pool_restarts is on. Here: the threads pool's threads. The async pool runs bodies
    // in the worker's own process, whose ES modules cannot be unloaded.
    pool_restart: () => {
      if (!w.restartsEnabled) return valueError('Pool restarts not enabled');
      if (!w.restart) return { error: 'pool_restart needs the threads pool (-P threads): the async pool cannot reload task modules; restart the worker' };
      w.restart();
      return { ok: 'reload started' };
    },
  };
}
