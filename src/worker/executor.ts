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
import { serializeError } from '../core/wire/exception.js';
import { ChordError, EncodeError, TimeLimitExceeded, WorkerLostError } from '../core/errors.js';
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
import { andThen, isThenable, type MaybePromise } from '../util/maybe-promise.js';

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

/**
 * The request a task body sees (`self.request`), read from its job. A class rather than a
 * literal so that `signal` can be a getter at no cost: the AbortController is made only for a
 * body that looks at its signal (a getter in an object literal costs a closure and a slow
 * object shape per task). Being on the prototype, `signal` is not copied by `{ ...request }`.
 */
class JobRequest implements Request {
  readonly id: string;
  readonly task: string;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
  readonly retries: number;
  readonly eta: string | null;
  readonly expires: string | null;
  readonly rootId: string | null;
  readonly parentId: string | null;
  readonly group: string | null;
  readonly groupIndex: number | null;
  readonly replyTo: string | null;
  readonly correlationId: string | null;
  readonly timelimit: [number | null, number | null];
  readonly hostname: string;
  readonly deliveryInfo: Request['deliveryInfo'];
  readonly callbacks: Request['callbacks'];
  readonly errbacks: Request['errbacks'];
  readonly chain: Request['chain'];
  readonly ignoreResult: boolean;
  readonly children: string[];
  readonly #job: Job;

  constructor(job: Job, hostname: string) {
    const m = job.msg;
    this.id = m.id;
    this.task = m.task;
    this.args = m.args;
    this.kwargs = m.kwargs;
    this.retries = m.retries;
    this.eta = m.eta;
    this.expires = m.expires;
    this.rootId = m.rootId;
    this.parentId = m.parentId;
    this.group = m.group;
    this.groupIndex = m.groupIndex;
    this.replyTo = m.replyTo;
    this.correlationId = m.correlationId;
    this.timelimit = m.timelimit;
    this.hostname = hostname;
    this.deliveryInfo = { exchange: job.delivery.exchange, routingKey: job.delivery.routingKey, redelivered: job.delivery.redelivered, priority: m.priority };
    this.callbacks = m.embed.callbacks;
    this.errbacks = m.embed.errbacks;
    this.chain = m.embed.chain;
    this.ignoreResult = job.ignoreResult;
    this.children = job.children;
    this.#job = job;
  }

  get signal(): AbortSignal {
    return this.#job.controller.signal;
  }
}

/** Build the request the task body sees. */
export function buildRequest(job: Job, hostname: string): Request {
  return new JobRequest(job, hostname);
}

const details = (err: unknown): ExceptionDetails => ({ traceback: (err as Error)?.stack ?? String(err) });

/**
 * Run the body through the runner with soft/hard limit timers (one per running job, bounded by
 * concurrency). Synchronous when the runner is (no timers were set, or they are cleared at once).
 */
function runWithLimits(job: Job, request: Request, ctx: ExecutorContext): MaybePromise<Outcome> {
  const [hard, soft] = job.msg.timelimit;
  const hardS = hard ?? job.task.timeLimit ?? ctx.timeLimit ?? null;
  const softS = soft ?? job.task.softTimeLimit ?? ctx.softTimeLimit ?? null;
  const softTimer = softS ? setTimeout(() => ctx.runner.soft(job, softS), softS * 1000) : undefined;
  const hardTimer = hardS ? setTimeout(() => ctx.runner.kill(job, { state: 'FAILURE', error: new TimeLimitExceeded(hardS) }), hardS * 1000) : undefined;
  job.terminate = (outcome) => ctx.runner.kill(job, outcome);
  let outcome: MaybePromise<Outcome>;
  try {
    outcome = ctx.runner.run(job, request);
  } catch (err) {
    endLimits(job, softTimer, hardTimer);
    throw err;
  }
  if (!isThenable(outcome)) {
    endLimits(job, softTimer, hardTimer);
    return outcome;
  }
  return Promise.resolve(outcome).finally(() => endLimits(job, softTimer, hardTimer));
}

function endLimits(job: Job, softTimer: NodeJS.Timeout | undefined, hardTimer: NodeJS.Timeout | undefined): void {
  if (softTimer) clearTimeout(softTimer);
  if (hardTimer) clearTimeout(hardTimer);
  job.terminate = undefined;
}

/**
 * Send a state to the caller unless results are ignored; logs (never throws) when it cannot.
 * A value that cannot be encoded is not a lost result but the task's failure: the EncodeError
 * is handed back so that the caller fails the task with it (Celery's behaviour), and the one
 * log line is that failure's.
 */
function report(job: Job, ctx: ExecutorContext, state: string, result: unknown, tb: string | null = null): MaybePromise<EncodeError | undefined> {
  if (job.ignoreResult) return;
  const { msg } = job;
  let sent: MaybePromise<void>;
  try {
    sent = ctx.backend.markState(
      {
        id: msg.id,
        replyTo: msg.replyTo,
        correlationId: msg.correlationId,
        group: msg.group,
        parentId: msg.parentId,
        children: job.children,
        request: { task: msg.task, args: msg.args, kwargs: msg.kwargs, hostname: ctx.hostname, retries: msg.retries, queue: job.delivery.routingKey ?? null },
      },
      state,
      result,
      tb,
    );
  } catch (err) {
    return reportFailed(ctx, job, state, err);
  }
  if (isThenable(sent)) return Promise.resolve(sent).then(noEncodeError, (err: unknown) => reportFailed(ctx, job, state, err));
}

const noEncodeError = (): undefined => undefined;

function reportFailed(ctx: ExecutorContext, job: Job, state: string, err: unknown): EncodeError | undefined {
  if (err instanceof EncodeError && state !== States.FAILURE) return err;
  job.resultLost = true;
  ctx.log.error(
    { err, taskId: job.msg.id },
    job.acksLate
      ? 'could not send result; the message is requeued, not acked, so the task runs again'
      : 'could not send result (early ack: the result is lost)',
  );
}

/**
 * Run a job to completion. Never throws: failures become FAILURE results. Synchronous from the
 * ack to the late ack while every step is (a plain body, default handlers, nothing to send),
 * else a promise from the first step that is not: see util/maybe-promise.ts.
 */
export function executeJob(job: Job, ctx: ExecutorContext): MaybePromise<void> {
  const { msg } = job;
  const { log } = ctx;
  job.startedAt = performance.now();
  job.timeStart = Date.now() / 1000;
  // Written before the early ack goes out: after a crash, a debug log names every task that was
  // acked and started, which with early acks are the only ones that can be lost.
  if (log.isLevelEnabled('debug')) log.debug({ taskId: msg.id, task: msg.task, acksLate: job.acksLate }, `Task ${msg.task}[${msg.id}] started`);
  if (!job.acksLate) {
    const acked = ackJob(job);
    // Early acks promise at most once: a task whose ack failed must not start. Brokers whose
    // ack cannot fail return nothing, and the hot path stays synchronous.
    if (isThenable(acked))
      return Promise.resolve(acked).then(
        () => startJob(job, ctx),
        (err: unknown) => ackFailed(job, ctx, err),
      );
  }
  return startJob(job, ctx);
}

function startJob(job: Job, ctx: ExecutorContext): MaybePromise<void> {
  const { task } = job;
  ctx.emit('task-started', job);
  if (task.trackStarted) return andThen(report(job, ctx, States.STARTED, { pid: process.pid, hostname: ctx.hostname }), () => runJob(job, ctx));
  return runJob(job, ctx);
}

/** The early ack failed: the message is still the broker's. Give it back; never run it here. */
function ackFailed(job: Job, ctx: ExecutorContext, err: unknown): void {
  const { msg } = job;
  ctx.log.debug({ taskId: msg.id, task: msg.task, err: (err as Error)?.message }, `Task ${msg.task}[${msg.id}] not started: its ack failed; requeued`);
  job.delivery.reject(true); // may fail too: the broker then returns it on close or crash recovery
  ctx.emit('task-finished', job, 'REJECTED');
}

function runJob(job: Job, ctx: ExecutorContext): MaybePromise<void> {
  const outcome = runWithLimits(job, buildRequest(job, ctx.hostname), ctx);
  return isThenable(outcome) ? Promise.resolve(outcome).then((o) => afterBody(job, ctx, o)) : afterBody(job, ctx, outcome);
}

/** The common case stays synchronous; every other outcome takes the async path. */
function afterBody(job: Job, ctx: ExecutorContext, outcome: Outcome): MaybePromise<void> {
  const runtimeMs = performance.now() - job.startedAt!;
  if (outcome.state !== 'SUCCESS') return afterOtherOutcome(job, ctx, outcome);
  const { msg } = job;
  const retval = outcome.retval;
  return andThen(report(job, ctx, States.SUCCESS, retval), (unencodable) => {
    if (unencodable) return afterOtherOutcome(job, ctx, { state: 'FAILURE', error: unencodable });
    ctx.emit('task-succeeded', job, retval, runtimeMs);
    ctx.log.info({ taskId: msg.id, task: msg.task, runtime: runtimeMs / 1000 }, `Task ${msg.task}[${msg.id}] succeeded in ${(runtimeMs / 1000).toFixed(4)}s`);
    return finishJob(job, ctx, outcome, retval, null);
  });
}

/** RETRY, FAILURE, LOST, REVOKED: report, emit and log each as Celery does. */
async function afterOtherOutcome(job: Job, ctx: ExecutorContext, outcome: Exclude<Outcome, { state: 'SUCCESS' }>): Promise<void> {
  const { task, msg } = job;
  const { log } = ctx;
  const label = `${msg.task}[${msg.id}]`;
  if (outcome.state === 'LOST' && job.acksLate && task.rejectOnWorkerLost) {
    // Celery's task_reject_on_worker_lost: give the message back instead of failing it.
    log.warn({ taskId: msg.id, task: msg.task }, `Task ${label} lost its worker thread; requeued (rejectOnWorkerLost)`);
    rejectJob(job, true);
    await ctx.runner.finish(job, outcome, null, null); // lets the runner release the dead thread's slot
    ctx.emit('task-finished', job, 'REJECTED');
    return;
  }
  if (outcome.state === 'RETRY') {
    const { retry } = outcome;
    const exc = retry.options.exc ?? retry;
    try {
      const when = await republish(job, ctx, retry);
      await report(job, ctx, States.RETRY, serializeError(exc), details(exc).traceback);
      ctx.emit('task-retried', job, exc, details(exc).traceback);
      log.info({ taskId: msg.id, task: msg.task, retries: msg.retries + 1 }, `Task ${label} retry: Retry ${when}: ${(exc as Error)?.message ?? String(exc)}`);
    } catch (err) {
      outcome = { state: 'FAILURE', error: err };
    }
  }
  let retval: unknown = null;
  let einfo: ExceptionDetails | null = null;
  switch (outcome.state) {
    case 'RETRY':
      retval = outcome.retry.options.exc ?? outcome.retry;
      einfo = details(retval);
      break;
    case 'REVOKED':
      await report(job, ctx, States.REVOKED, { exc_type: 'TaskRevokedError', exc_message: ['terminated'], exc_module: 'celery.exceptions' });
      ctx.emit('task-revoked', msg, 'revoked', true);
      log.warn({ taskId: msg.id, task: msg.task }, `Task ${label} terminated (revoked)`);
      break;
    case 'FAILURE':
    case 'LOST': {
      retval = outcome.state === 'LOST' ? new WorkerLostError(String((outcome.error as Error)?.message ?? outcome.error)) : outcome.error;
      einfo = details(retval);
      const info = serializeError(retval);
      await report(job, ctx, States.FAILURE, info, einfo.traceback);
      ctx.emit('task-failed', job, retval, einfo.traceback);
      log.error(
        { taskId: msg.id, task: msg.task, err: retval },
        `Task ${label} raised unexpected: ${info.exc_type}(${info.exc_message.map(String).join(', ')})`,
      );
      break;
    }
  }
  await finishJob(job, ctx, outcome, retval, einfo);
}

/** Handlers, then callbacks (success) or errbacks (failure), then the late ack. */
function finishJob(job: Job, ctx: ExecutorContext, outcome: Outcome, retval: unknown, einfo: ExceptionDetails | null): MaybePromise<void> {
  const handlers = outcome.state !== 'REVOKED' ? ctx.runner.finish(job, outcome, retval, einfo) : undefined;
  return andThen(handlers, () => {
    const sends =
      outcome.state === 'SUCCESS'
        ? sendFollowUps(job, ctx, retval)
        : outcome.state === 'FAILURE' || outcome.state === 'LOST'
          ? sendErrbacks(job, ctx)
          : undefined;
    return andThen(
      andThen(sends, () => chordPart(job, ctx, outcome, retval)),
      () => {
        // Celery acks late even on failure (task_acks_on_failure_or_timeout): the failure is the
        // outcome. But a result that could not be sent must not vanish with an acked message.
        if (job.resultLost && job.acksLate) rejectJob(job, true);
        else ackJob(job);
        ctx.emit('task-finished', job, outcome.state === 'LOST' ? 'FAILURE' : outcome.state);
      },
    );
  });
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
    // Keep answering the original caller. Without one, a storing backend still stores the
    // result by id; rpc has nobody to tell.
    ...(job.ignoreResult ? { ignoreResult: true } : msg.replyTo ? { replyTo: msg.replyTo } : ctx.backend.storesById ? {} : { ignoreResult: true }),
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
  const failed = (err: unknown) => ctx.log.error({ err, taskId: job.msg.id, next: sig.task }, 'could not send follow-up task');
  try {
    const opts: SendOptions = { ...sendOptionsFromSignature(sig.options ?? {}), ...extra, parentId: job.msg.id, rootId: job.msg.rootId ?? job.msg.id };
    const a = sig.immutable ? (sig.args ?? []) : [...args, ...(sig.args ?? [])];
    return ctx.sendTask(sig.task, a, sig.kwargs ?? {}, opts).catch(failed);
  } catch (err) {
    // Options the producer refuses (a bad countdown, say): the task's own outcome stands.
    failed(err);
    return Promise.resolve();
  }
}

/** link callbacks get the result; the chain's next step (last element) gets it and the rest of the chain. */
function sendFollowUps(job: Job, ctx: ExecutorContext, retval: unknown): MaybePromise<void> {
  const { callbacks, chain } = job.msg.embed;
  if (!callbacks?.length && !chain?.length) return;
  const sends: Promise<unknown>[] = (callbacks ?? []).map((sig) => send(ctx, job, sig, [retval], {}));
  if (chain?.length) {
    const next = chain[chain.length - 1]!;
    const rest = chain.slice(0, -1);
    sends.push(send(ctx, job, next, [retval], rest.length ? { chain: rest } : {}));
  }
  return Promise.all(sends).then(() => undefined);
}

/**
 * A chord header task has finished (Celery's on_chord_part_return): add its outcome to the
 * backend's join; the task that completes the header sends the body with the results in header
 * order, or, when a member failed, fails the body with ChordError. Before the late ack, so a
 * worker that dies here leaves the message to be run (and counted) again.
 */
function chordPart(job: Job, ctx: ExecutorContext, outcome: Outcome, retval: unknown): MaybePromise<void> {
  const { msg } = job;
  const body = msg.embed.chord;
  const chords = ctx.backend.chords;
  if (!body || !msg.group || !chords || outcome.state === 'RETRY') return;
  const state = outcome.state === 'SUCCESS' ? States.SUCCESS : outcome.state === 'REVOKED' ? States.REVOKED : States.FAILURE;
  const value = state === States.SUCCESS ? retval : serializeError(retval);
  const bodyId = typeof body.options?.['task_id'] === 'string' ? body.options['task_id'] : null;
  return chords
    .partReturn(msg.group, msg.id, msg.groupIndex, state, value)
    .then((join): unknown => {
      if (!join) return;
      if ('results' in join) return send(ctx, job, body, [join.results], {});
      const err = new ChordError(join.error);
      ctx.log.error({ taskId: bodyId, group: msg.group }, `Chord callback ${body.task}[${bodyId}] failed: ChordError: ${join.error}`);
      if (!bodyId) return;
      return ctx.backend.markState({ id: bodyId, replyTo: null, correlationId: bodyId, parentId: msg.id }, States.FAILURE, serializeError(err), err.message);
    })
    .then(
      () => undefined,
      (err: unknown) => {
        ctx.log.error({ err, taskId: msg.id, group: msg.group }, 'could not join the chord this task belongs to');
      },
    );
}

/** link_error callbacks are called with the failed task's id, as Celery does for remote errbacks. */
function sendErrbacks(job: Job, ctx: ExecutorContext): MaybePromise<void> {
  const errbacks = job.msg.embed.errbacks;
  if (!errbacks?.length) return;
  return Promise.all(errbacks.map((sig) => send(ctx, job, sig, [job.msg.id], {}))).then(() => undefined);
}
