/**
 * A task thread: loads the same task modules as the worker (TypeScript through tsx), then runs
 * bodies and handlers on request. One job at a time; the worker owns acks and results.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { App } from '../../app.js';
import { setCurrentApp } from '../../core/app-port.js';
import { SoftTimeLimitExceeded } from '../../core/errors.js';
import { requestContext } from '../../core/request.js';
import { Task } from '../../core/task.js';
import type { Config } from '../../config/schema.js';
import { createLogger } from '../../logging/logger.js';
import { runAfterHandlers } from '../async-runner.js';
import type { Job } from '../job.js';
import { classifyError, type Outcome } from '../outcome.js';
import { fromWireError, toWireOutcome, type FromThread, type ToThread } from './messages.js';

/** What the worker passes to each thread. */
export interface ThreadData {
  config: Config;
  modules: string[];
}

const port = parentPort!;
const send = (m: FromThread) => port.postMessage(m);
const { config, modules } = workerData as ThreadData;
const log = createLogger({ level: config.logLevel, pretty: false, file: config.logFile });
const app = new App(config, { logger: log });
setCurrentApp(app);

interface Running {
  task: Task<any, any>;
  job: Job;
  outcome: Outcome;
}
const running = new Map<string, Running>();

async function run(m: Extract<ToThread, { type: 'run' }>): Promise<void> {
  const task = app.registry.require(m.name);
  const controller = new AbortController();
  // The handlers take a Job; only the fields they read are real here.
  const job = { task, msg: { id: m.request.id, task: m.name, args: m.args, kwargs: m.kwargs, retries: m.request.retries }, controller } as unknown as Job;
  const entry: Running = { task, job, outcome: { state: 'SUCCESS', retval: null } };
  running.set(m.jobId, entry);
  try {
    await task.beforeStart(m.request.id, m.args, m.kwargs);
  } catch (err) {
    log.error({ err, taskId: m.request.id }, 'beforeStart handler raised');
  }
  try {
    const retval = await requestContext.run({ ...m.request, signal: controller.signal }, () => task.invoke(m.args, m.kwargs));
    entry.outcome = { state: 'SUCCESS', retval };
  } catch (err) {
    entry.outcome = classifyError(task, err, m.name, m.request.id, m.request.retries);
  }
  // Without handlers to run after the result, the exchange ends here: no finish round trip.
  const finished = !hasAfterHandlers(task);
  if (finished) running.delete(m.jobId);
  send({ type: 'outcome', jobId: m.jobId, outcome: toWireOutcome(entry.outcome), finished });
}

/** True when the task overrides a handler that runs after the result (they are no-ops by default). */
function hasAfterHandlers(task: Task<any, any>): boolean {
  const base = Task.prototype;
  return task.onSuccess !== base.onSuccess || task.onFailure !== base.onFailure || task.onRetry !== base.onRetry || task.afterReturn !== base.afterReturn;
}

async function finish(m: Extract<ToThread, { type: 'finish' }>): Promise<void> {
  const entry = running.get(m.jobId);
  running.delete(m.jobId);
  if (entry) {
    // The worker may have turned a retry into a failure (republish failed): it sends the error.
    const outcome: Outcome = m.error ? { state: 'FAILURE', error: fromWireError(m.error) } : entry.outcome;
    const retval =
      outcome.state === 'SUCCESS'
        ? outcome.retval
        : outcome.state === 'RETRY'
          ? (outcome.retry.options.exc ?? outcome.retry)
          : outcome.state === 'REVOKED'
            ? null
            : outcome.error;
    const einfo = outcome.state === 'SUCCESS' ? null : { traceback: (retval as Error)?.stack ?? String(retval) };
    await runAfterHandlers(log, entry.job, outcome, retval, einfo);
  }
  send({ type: 'finished', jobId: m.jobId });
}

port.on('message', (m: ToThread) => {
  if (m.type === 'run') void run(m);
  else if (m.type === 'finish') void finish(m);
  else if (m.type === 'soft') running.get(m.jobId)?.job.controller.abort(new SoftTimeLimitExceeded(m.seconds));
});

try {
  await app.loadTasks(modules);
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'load-error', message: (err as Error).message });
}
