/**
 * Runs one job, Celery's trace: ack (early) -> STARTED (trackStarted) -> body (in the runner,
 * under time limits) -> result -> handlers -> callbacks / next chain step -> ack (late).
 *
 *   reserved ──slot──▶ [early: ack] ─▶ beforeStart ─▶ run ─┬─ ok ────▶ SUCCESS, onSuccess, link, chain
 *                                                          ├─ retry ─▶ republish, RETRY, onRetry
 *                                                          ├─ err ───▶ FAILURE, onFailure, link_error
 *                                                          ├─ lost ──▶ requeue (rejectOnWorkerLost) or FAILURE WorkerLostError
 *                                                          └─ killed ▶ REVOKED (terminate) / FAILURE TimeLimitExceeded
 *                      ─▶ afterReturn ─▶ [late: ack] ─▶ done
 */
import type { ResultBackend } from '../core/backend.js';
import { serializeError } from '../core/protocol.js';
import { TimeLimitExceeded, WorkerLostError } from '../core/errors.js';
import type { Request } from '../core/request.js';
import type { Retry } from '../core/retry.js';
import type { SendOptions } from '../core/send-options.js';
import { sendOptionsFromSignature, type SignatureJSON } from '../core/signature.js';
import { States } from '../core/states.js';
import type { ExceptionDetails } from '../core/task.js';
import type { Logger } from '../logging/logger.js';
import { ackJob, rejectJob, type Job } from './job.js';
import type { Outcome } from './outcome.js';
import type { TaskRunner } from './runner.js';
import type { WorkerEventMap } from './worker-events.js';

/** What the executor needs from the worker. */
export interface ExecutorContext {
  hostname: string;
  backend: ResultBackend;
  log: Logger;
  sendTask(name: string, args: unknown[], kwargs: Record<string, unknown>, options: SendOptions): Promise<unknown>;
  /** Where bodies run. */
  runner: TaskRunner;
  /** Worker-wide default limits in seconds (--time-limit, --soft-time-limit). */
  timeLimit: number | null;
  softTimeLimit: number | null;
  /** Tell the worker's listeners (events, stats). */
  emit<E extends keyof WorkerEventMap>(event: E, ...args: WorkerEventMap[E]): void;
}

/** Build the request the task body sees. */
export function buildRequest(job: Job, hostname: string): Request {
  const m = job.msg;
  return {
    id: m.id,
    task: m.task,
    args: m.args,
    kwargs: m.kwargs,
    retries: m.retries,
    eta: m.eta,
    expires: m.expires,
    rootId: m.rootId,
    parentId: m.parentId,
    group: m.group,
    groupIndex: m.groupIndex,
    replyTo: m.replyTo,
    correlationId: m.correlationId,
    timelimit: m.timelimit,
    hostname,
    deliveryInfo: { exchange: job.delivery.exchange, routingKey: job.delivery.routingKey, redelivered: job.delivery.redelivered, priority: m.priority },
    callbacks: m.embed.callbacks,
    errbacks: m.embed.errbacks,
    chain: m.embed.chain,
    ignoreResult: job.ignoreResult,
    signal: job.controller.signal,
  };
}

const details = (err: unknown): ExceptionDetails => ({ traceback: (err as Error)?.stack ?? String(err) });

/** Effective [hard, soft] limits: the message header wins, then the task, then the worker. */
function limitsOf(job: Job, ctx: ExecutorContext): [number | null, number | null] {
  const [hard, soft] = job.msg.timelimit;
  return [hard ?? job.task.timeLimit ?? ctx.timeLimit ?? null, soft ?? job.task.softTimeLimit ?? ctx.softTimeLimit ?? null];
}

/** Run the body through the runner with soft/hard limit timers (one per running job, bounded by concurrency). */
async function runWithLimits(job: Job, request: Request, ctx: ExecutorContext): Promise<Outcome> {
  const [hard, soft] = limitsOf(job, ctx);
  const timers: NodeJS.Timeout[] = [];
  if (soft) timers.push(setTimeout(() => ctx.runner.soft(job, soft), soft * 1000));
  if (hard) timers.push(setTimeout(() => ctx.runner.kill(job, { state: 'FAILURE', error: new TimeLimitExceeded(hard) }), hard * 1000));
  job.terminate = (outcome) => ctx.runner.kill(job, outcome);
  try {
    return await ctx.runner.run(job, request);
  } finally {
    for (const t of timers) clearTimeout(t);
    job.terminate = undefined;
  }
}

/** Run a job to completion. Never throws: failures become FAILURE results. */
export async function executeJob(job: Job, ctx: ExecutorContext): Promise<void> {
  const { task, msg } = job;
  const { log } = ctx;
  const target = { id: msg.id, replyTo: msg.replyTo, correlationId: msg.correlationId };
  job.startedAt = performance.now();
  job.timeStart = Date.now() / 1000;
  if (!job.acksLate) ackJob(job);
  const report = (state: string, result: unknown, tb: string | null = null) =>
    job.ignoreResult ? Promise.resolve() : ctx.backend.markState(target, state, result, tb).catch((err) => log.error({ err, taskId: msg.id }, 'could not send result'));
  const label = `${msg.task}[${msg.id}]`;

  ctx.emit('task-started', job);
  if (task.trackStarted) await report(States.STARTED, { pid: process.pid, hostname: ctx.hostname });

  let outcome = await runWithLimits(job, buildRequest(job, ctx.hostname), ctx);
  const runtimeMs = performance.now() - job.startedAt;

  if (outcome.state === 'LOST' && job.acksLate && task.rejectOnWorkerLost) {
    // Celery's task_reject_on_worker_lost: give the message back instead of failing it.
    log.warn({ taskId: msg.id, task: msg.task }, `Task ${label} lost its worker thread; requeued (rejectOnWorkerLost)`);
    rejectJob(job, true);
    ctx.emit('task-finished', job, 'REJECTED');
    return;
  }
  if (outcome.state === 'RETRY') {
    const { retry } = outcome;
    const exc = retry.options.exc ?? retry;
    try {
      const when = await republish(job, ctx, retry);
      await report(States.RETRY, serializeError(exc), details(exc).traceback);
      ctx.emit('task-retried', job, exc, details(exc).traceback);
      log.info({ taskId: msg.id, task: msg.task, retries: msg.retries + 1 }, `Task ${label} retry: Retry ${when}: ${(exc as Error)?.message ?? String(exc)}`);
    } catch (err) {
      outcome = { state: 'FAILURE', error: err };
    }
  }
  let retval: unknown = null;
  let einfo: ExceptionDetails | null = null;
  switch (outcome.state) {
    case 'SUCCESS':
      retval = outcome.retval;
      await report(States.SUCCESS, retval);
      ctx.emit('task-succeeded', job, retval, runtimeMs);
      log.info({ taskId: msg.id, task: msg.task, runtime: runtimeMs / 1000 }, `Task ${label} succeeded in ${(runtimeMs / 1000).toFixed(4)}s`);
      break;
    case 'RETRY':
      retval = outcome.retry.options.exc ?? outcome.retry;
      einfo = details(retval);
      break;
    case 'REVOKED':
      await report(States.REVOKED, { exc_type: 'TaskRevokedError', exc_message: ['terminated'], exc_module: 'celery.exceptions' });
      ctx.emit('task-revoked', msg, 'revoked', true);
      log.warn({ taskId: msg.id, task: msg.task }, `Task ${label} terminated (revoked)`);
      break;
    case 'FAILURE':
    case 'LOST': {
      retval = outcome.state === 'LOST' ? new WorkerLostError(String((outcome.error as Error)?.message ?? outcome.error)) : outcome.error;
      einfo = details(retval);
      const info = serializeError(retval);
      await report(States.FAILURE, info, einfo.traceback);
      ctx.emit('task-failed', job, retval, einfo.traceback);
      log.error({ taskId: msg.id, task: msg.task, err: retval }, `Task ${label} raised unexpected: ${info.exc_type}(${info.exc_message.map(String).join(', ')})`);
      break;
    }
  }
  if (outcome.state !== 'REVOKED') await ctx.runner.finish(job, outcome, retval, einfo);
  if (outcome.state === 'SUCCESS') await sendFollowUps(job, ctx, retval);
  else if (outcome.state === 'FAILURE' || outcome.state === 'LOST') await sendErrbacks(job, ctx);
  // Celery acks late even on failure (task_acks_on_failure_or_timeout): the failure is the outcome.
  ackJob(job);
  ctx.emit('task-finished', job, outcome.state === 'LOST' ? 'FAILURE' : outcome.state);
}

/** Send the same task id again with retries + 1, keeping its reply queue, callbacks and chain. */
async function republish(job: Job, ctx: ExecutorContext, retry: Retry): Promise<string> {
  const { msg, task } = job;
  const o = retry.options;
  const opts: SendOptions = {
    taskId: msg.id,
    retries: msg.retries + 1,
    queue: job.delivery.routingKey,
    rootId: msg.rootId ?? msg.id,
    ...(msg.parentId ? { parentId: msg.parentId } : {}),
    ...(msg.group ? { group: msg.group } : {}),
    ...(msg.groupIndex !== null ? { groupIndex: msg.groupIndex } : {}),
    ...(msg.priority !== null ? { priority: msg.priority } : {}),
    ...(msg.timelimit[0] !== null ? { timeLimit: msg.timelimit[0] } : {}),
    ...(msg.timelimit[1] !== null ? { softTimeLimit: msg.timelimit[1] } : {}),
    ...(msg.expires ? { expires: msg.expires } : {}),
    ...(msg.embed.callbacks ? { link: msg.embed.callbacks } : {}),
    ...(msg.embed.errbacks ? { linkError: msg.embed.errbacks } : {}),
    ...(msg.embed.chain ? { chain: msg.embed.chain } : {}),
    // Keep answering the original caller; with no caller there is nobody to tell.
    ...(msg.replyTo && !job.ignoreResult ? { replyTo: msg.replyTo } : { ignoreResult: true }),
  };
  let when: string;
  if (o.eta !== undefined) {
    opts.eta = o.eta;
    when = `at ${typeof o.eta === 'string' ? o.eta : o.eta.toISOString()}`;
  } else {
    opts.countdown = o.countdown ?? task.defaultRetryDelay;
    when = `in ${opts.countdown}s`;
  }
  await ctx.sendTask(msg.task, o.args ?? msg.args, o.kwargs ?? msg.kwargs, opts);
  return when;
}

function send(ctx: ExecutorContext, job: Job, sig: SignatureJSON, args: unknown[], extra: SendOptions): Promise<unknown> {
  const opts: SendOptions = { ...sendOptionsFromSignature(sig.options ?? {}), ...extra, parentId: job.msg.id, rootId: job.msg.rootId ?? job.msg.id };
  const a = sig.immutable ? (sig.args ?? []) : [...args, ...(sig.args ?? [])];
  return ctx.sendTask(sig.task, a, sig.kwargs ?? {}, opts).catch((err) => {
    ctx.log.error({ err, taskId: job.msg.id, next: sig.task }, 'could not send follow-up task');
  });
}

/** link callbacks get the result; the chain's next step (last element) gets it and the rest of the chain. */
async function sendFollowUps(job: Job, ctx: ExecutorContext, retval: unknown): Promise<void> {
  const { callbacks, chain } = job.msg.embed;
  const sends: Promise<unknown>[] = (callbacks ?? []).map((sig) => send(ctx, job, sig, [retval], {}));
  if (chain && chain.length) {
    const next = chain[chain.length - 1]!;
    const rest = chain.slice(0, -1);
    sends.push(send(ctx, job, next, [retval], rest.length ? { chain: rest } : {}));
  }
  await Promise.all(sends);
}

/** link_error callbacks are called with the failed task's id, as Celery does for remote errbacks. */
async function sendErrbacks(job: Job, ctx: ExecutorContext): Promise<void> {
  await Promise.all((job.msg.embed.errbacks ?? []).map((sig) => send(ctx, job, sig, [job.msg.id], {})));
}
