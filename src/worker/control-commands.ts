import { defaults } from '../config/schema.js';
import { maskedConfig, reportText } from '../config/report.js';
import type { Broker } from '../core/broker.js';
import { toPythonIso } from '../core/dates.js';
import { parseRateLimit } from '../core/rate-limit.js';
import type { Task } from '../core/task.js';
import { startWorkerEvents, workerEventsOf } from './events/service.js';
import { jobInfo, type Job } from './job.js';
import { activeQueueInfo } from './queue-info.js';
import { WorkerStats } from './stats.js';
import { taskIds as ids, truthy } from './control-args.js';
import { debugCommands } from './debug-commands.js';
import { poolCommands } from './pool-commands.js';
import type { ControlCommand } from './control.js';
import type { Worker } from './worker.js';

/** Celery's default `taskinfoitems` for `inspect registered`. */
const TASK_INFO_ITEMS = ['exchange', 'routing_key', 'rate_limit'];

/** `name [rate_limit=10/s]` as Celery lists a task with attributes set, else the bare name. */
function taskInfo(task: Task<any, any>, items: string[]): string {
  const attrs = task as unknown as Record<string, unknown>;
  const fields = items.flatMap((item) => {
    const v = attrs[item.replace(/_(\w)/g, (_, c: string) => c.toUpperCase())] ?? attrs[item];
    return v === null || v === undefined || typeof v === 'function' ? [] : [`${item}=${String(v)}`];
  });
  return fields.length ? `${task.name} [${fields.join(' ')}]` : task.name;
}

/** The broker as Celery's stats report it (kombu's Connection.info()): never the password. */
function brokerInfo(broker: Broker, heartbeatSeconds = 30): Record<string, unknown> {
  let url: URL | undefined;
  try {
    url = new URL(broker.displayUrl);
  } catch {
    url = undefined;
  }
  if (broker.transport !== 'amqp' || !url) {
    return {
      hostname: null,
      userid: null,
      virtual_host: '/',
      port: null,
      transport: broker.transport,
      transport_options: url ? { data_folder: decodeURIComponent(url.pathname) } : {},
    };
  }
  const ssl = url.protocol === 'amqps:';
  const heartbeat = Number(url.searchParams.get('heartbeat') ?? heartbeatSeconds);
  return {
    hostname: url.hostname || 'localhost',
    userid: decodeURIComponent(url.username) || 'guest',
    virtual_host: url.pathname.length > 1 ? decodeURIComponent(url.pathname.slice(1)) : '/',
    port: Number(url.port) || (ssl ? 5671 : 5672),
    insist: false,
    ssl,
    transport: broker.transport,
    connect_timeout: 10,
    transport_options: {},
    login_method: 'PLAIN',
    uri_prefix: null,
    heartbeat,
    failover_strategy: 'round-robin',
    alternates: [],
  };
}

/**
 * The effective config as `inspect conf` replies (Celery: `app.conf.table()`): what differs from
 * the defaults (everything with `with_defaults`), every secret and URL password masked.
 */
function effectiveConfig(config: Record<string, unknown>, withDefaults: boolean): Record<string, unknown> {
  const base = defaults() as unknown as Record<string, unknown>;
  const shown = Object.entries(config).filter(
    ([k, v]) => k !== 'configFile' && v !== undefined && (withDefaults || JSON.stringify(v) !== JSON.stringify(base[k])),
  );
  return maskedConfig(Object.fromEntries(shown)) as Record<string, unknown>;
}

/** A seconds argument (Python's CLI sends floats, Flower strings), null when absent. */
function secondsArg(v: unknown): number | null {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : null;
}

/**
 * What remote control reads and changes of a worker: its queues, pool and schedules, not its
 * delivery path or connections.
 */
export type ControlledWorker = Pick<
  Worker,
  'nodeName' | 'app' | 'pool' | 'runner' | 'autoscaler' | 'limiter' | 'eta' | 'parked' | 'active' | 'revoked' | 'consumers' | 'stats' | 'prefetchCount' | 'stop'
> &
  Parameters<typeof workerEventsOf>[0];

/** The remote-control commands a worker answers, with Celery's reply shapes. */
export function createControlCommands(worker: ControlledWorker): Record<string, ControlCommand> {
  const node = worker.nodeName;
  /** Received, not started: waiting for a pool slot or held back by a rate limit. */
  const reservedJobs = (): Job[] => [...worker.pool.waiting(), ...worker.limiter.held()];
  const revoke: ControlCommand = (args) => {
    const list = ids(args['task_id']);
    for (const id of list) worker.revoked.add(id);
    if (truthy(args['terminate'])) {
      const terminated: string[] = [];
      for (const job of worker.active) {
        if (!list.includes(job.msg.id)) continue;
        terminated.push(job.msg.id);
        job.terminate?.({ state: 'REVOKED' });
      }
      return { ok: terminated.length ? `terminate: ${terminated.join(', ')}` : 'terminate: tasks unknown' };
    }
    worker.app.log.info({ taskIds: list }, `Tasks flagged as revoked: ${list.join(', ')}`);
    return { ok: `tasks ${list.join(', ')} flagged as revoked` };
  };
  return {
    ping: () => ({ ok: 'pong' }),
    registered: (args) => {
      const items = Array.isArray(args['taskinfoitems']) && args['taskinfoitems'].length ? args['taskinfoitems'].map(String) : TASK_INFO_ITEMS;
      return worker.app.registry.names().map((name) => taskInfo(worker.app.registry.get(name)!, items));
    },
    active: () => [...worker.active].map((j) => jobInfo(j, node)),
    reserved: () => reservedJobs().map((j) => jobInfo(j, node)),
    // Held in memory and parked in the broker alike; priority 6: the timer priority Celery schedules eta requests with.
    scheduled: () => [
      ...[...worker.eta.entries()].map(({ due, item }) => ({ eta: item.msg.eta ?? toPythonIso(new Date(due)), priority: 6, request: jobInfo(item, node) })),
      ...worker.parked.entries().map(([, p]) => ({ eta: p.eta, priority: 6, request: p.request })),
    ],
    revoked: () => worker.revoked.list(),
    active_queues: () => [...worker.consumers.bindings()].map(([name, b]) => activeQueueInfo(name, b, worker.app.config.queues[name] ?? {})),
    // { id: [state, request] } for the ids this worker holds (Celery: active, reserved).
    query_task: (args) => {
      const wanted = new Set(ids(args['ids'] ?? args['id']));
      const found: Record<string, [string, Record<string, unknown>]> = {};
      const add = (state: string, jobs: Iterable<Job>) => {
        for (const j of jobs) if (wanted.has(j.msg.id) && !(j.msg.id in found)) found[j.msg.id] = [state, jobInfo(j, node)];
      };
      add('active', worker.active);
      add('reserved', [...reservedJobs(), ...[...worker.eta.entries()].map((e) => e.item)]);
      for (const [id, p] of worker.parked.entries()) if (wanted.has(id) && !(id in found)) found[id] = ['reserved', p.request];
      return found;
    },
    // Celery replies before the consumer is in place (call_soon); this replies once it is, or with the error.
    add_consumer: async (args) => {
      const queue = typeof args['queue'] === 'string' ? args['queue'] : '';
      if (!queue) return { error: 'add_consumer needs a queue name' };
      const str = (k: string) => (typeof args[k] === 'string' && args[k] ? (args[k] as string) : undefined);
      const type = str('exchange_type') ?? 'direct';
      if (type !== 'direct' && type !== 'topic' && type !== 'fanout') return { error: `unsupported exchange type '${type}'` };
      try {
        const added = await worker.consumers.add(queue, { exchange: str('exchange') ?? queue, exchangeType: type, routingKey: str('routing_key') ?? queue });
        if (added) worker.app.log.info({ queue }, `Started consuming from ${queue}`);
      } catch (err) {
        worker.app.log.error({ err, queue }, `could not start consuming from ${queue}`);
        return { error: `could not consume from ${queue}: ${(err as Error).message}` };
      }
      return { ok: `add consumer ${queue}` };
    },
    cancel_consumer: async (args) => {
      const queue = String(args['queue'] ?? '');
      if (await worker.consumers.cancel(queue)) worker.app.log.info({ queue }, `No longer consuming from ${queue}`);
      return { ok: `no longer consuming from ${queue}` };
    },
    stats: async () => {
      const broker = await worker.app.broker();
      return {
        total: { ...worker.stats.total },
        pid: process.pid,
        clock: String(worker.stats.processed),
        uptime: worker.stats.uptime(),
        pool: {
          'max-concurrency': worker.pool.concurrency,
          processes: worker.runner.processes(),
          implementation: worker.runner.kind,
          'max-tasks-per-child': 'N/A',
          'put-guarded-by-semaphore': false,
          timeouts: [worker.app.config.taskSoftTimeLimit ?? 0, worker.app.config.taskTimeLimit ?? 0],
        },
        broker: brokerInfo(broker, worker.app.config.brokerHeartbeat),
        prefetch_count: worker.prefetchCount,
        rusage: WorkerStats.rusage(),
        rejected: { ...worker.stats.rejected },
        sw_ident: 'celeryts',
        ...(worker.autoscaler ? { autoscaler: worker.autoscaler.info() } : {}),
      };
    },
    rate_limit: (args) => {
      const name = String(args['task_name'] ?? '');
      const task = worker.app.registry.get(name);
      const limit = (args['rate_limit'] ?? null) as string | number | null;
      try {
        parseRateLimit(limit);
      } catch (err) {
        return { error: `Invalid rate limit string: ${(err as Error).message}` };
      }
      if (!task) {
        worker.app.log.error({ task: name }, `Rate limit attempt for unknown task ${name}`);
        return { error: 'unknown task' };
      }
      worker.limiter.setLimit(name, limit);
      worker.app.log.info(
        { task: name, rateLimit: limit },
        limit ? `New rate limit for tasks of type ${name}: ${limit}.` : `Rate limits disabled for tasks of type ${name}`,
      );
      task.rateLimit = limit === null ? null : String(limit);
      return { ok: limit ? 'new rate limit set successfully' : 'rate limit disabled successfully' };
    },
    revoke,
    // Celery's `control terminate <signal> <id>...`: revoke and stop the running ones.
    terminate: (args) => revoke({ ...args, terminate: true }),
    // Events (Celery's enable_events / disable_events / heartbeat); Flower sends these.
    enable_events: async () => {
      const running = await workerEventsOf(worker);
      if (running?.taskEvents) return { ok: 'task events already enabled' };
      if (running) running.taskEvents = true;
      else await startWorkerEvents(worker);
      worker.app.log.info('Events of group {task} enabled by remote.');
      return { ok: 'task events enabled' };
    },
    disable_events: async () => {
      const running = await workerEventsOf(worker);
      if (!running?.taskEvents) return { ok: 'task events already disabled' };
      running.taskEvents = false;
      worker.app.log.info('Events of group {task} disabled by remote.');
      return { ok: 'task events disabled' };
    },
    heartbeat: async () => {
      (await workerEventsOf(worker))?.heart.beat();
      return null; // Celery's handler returns None, so its worker replies { node: null }
    },
    clock: async () => ({ clock: (await workerEventsOf(worker))?.dispatcher.clock.value ?? 0 }),
    conf: (args) => effectiveConfig(worker.app.config as unknown as Record<string, unknown>, truthy(args['with_defaults'])),
    report: () => ({ ok: reportText(worker.app.config) }),
    time_limit: (args) => {
      const name = String(args['task_name'] ?? '');
      const task = worker.app.registry.get(name);
      if (!task) {
        worker.app.log.error({ task: name }, `Change time limit attempt for unknown task ${name}`);
        return { error: 'unknown task' };
      }
      task.softTimeLimit = secondsArg(args['soft']);
      task.timeLimit = secondsArg(args['hard']);
      worker.app.log.info(
        { task: name, soft: task.softTimeLimit, hard: task.timeLimit },
        `New time limits for tasks of type ${name}: soft=${task.softTimeLimit} hard=${task.timeLimit}`,
      );
      return { ok: 'time limits set successfully' };
    },
    ...poolCommands({
      pool: worker.pool,
      poolKind: worker.runner.kind,
      autoscaler: worker.autoscaler,
      restartsEnabled: worker.app.config.workerPoolRestarts,
      restart: worker.runner.restart ? () => worker.runner.restart?.() : undefined,
    }),
    ...debugCommands(),
    shutdown: () => {
      worker.app.log.warn('Got shutdown from remote');
      setImmediate(() => void worker.stop());
      return { ok: 'shutdown' };
    },
  };
}
