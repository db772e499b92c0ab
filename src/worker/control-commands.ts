import { jobInfo } from './job.js';
import { WorkerStats } from './stats.js';
import { ThreadRunner } from './threads/thread-runner.js';
import type { ControlCommand } from './control.js';
import type { Worker } from './worker.js';

/** The remote-control commands a worker answers, with Celery's reply shapes. */
export function createControlCommands(worker: Worker): Record<string, ControlCommand> {
  const node = worker.nodeName;
  const ids = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []);
  return {
    ping: () => ({ ok: 'pong' }),
    registered: () => worker.app.registry.names(),
    active: () => [...worker.active].map((j) => jobInfo(j, node)),
    reserved: () => [...worker.pool.waiting(), ...worker.limiter.held()].map((j) => jobInfo(j, node)),
    scheduled: () =>
      [...worker.eta.entries()].map(({ due, item }) => ({ eta: new Date(due).toISOString(), priority: item.msg.priority ?? 0, request: jobInfo(item, node) })),
    revoked: () => worker.revoked.list(),
    stats: async () => {
      const broker = await worker.app.broker();
      return {
        total: { ...worker.stats.total },
        pid: process.pid,
        clock: String(worker.stats.processed),
        uptime: worker.stats.uptime(),
        pool: {
          'max-concurrency': worker.pool.concurrency,
          processes: worker.runner instanceof ThreadRunner ? worker.runner.threadIds : [process.pid],
          implementation: worker.runner.kind,
          'max-tasks-per-child': 'N/A',
        },
        broker: { transport: broker.transport, url: broker.displayUrl },
        prefetch_count: worker.prefetchCount,
        rusage: WorkerStats.rusage(),
        rejected: { ...worker.stats.rejected },
        sw_ident: 'celeryts',
      };
    },
    rate_limit: (args) => {
      const name = String(args['task_name'] ?? '');
      const task = worker.app.registry.get(name);
      if (!task) return { error: `unknown task ${name}` };
      const limit = (args['rate_limit'] ?? null) as string | number | null;
      try {
        worker.limiter.setLimit(name, limit);
      } catch (err) {
        return { error: (err as Error).message };
      }
      task.rateLimit = limit === null ? null : String(limit);
      return { ok: limit ? 'new rate limit set successfully' : 'rate limit disabled successfully' };
    },
    revoke: (args) => {
      const list = ids(args['task_id']);
      for (const id of list) worker.revoked.add(id);
      if (args['terminate'] === true) {
        for (const job of worker.active) if (list.includes(job.msg.id)) job.terminate?.({ state: 'REVOKED' });
      }
      return { ok: `tasks ${list.join(', ')} flagged as revoked` };
    },
    shutdown: () => {
      worker.app.log.warn('Got shutdown from remote');
      setImmediate(() => void worker.stop());
      return { ok: 'shutdown' };
    },
  };
}
