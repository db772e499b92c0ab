/**
 * The worker: consumes task queues, decides from headers, runs requests in the async pool,
 * acks, publishes results and answers remote control.
 *
 * Life of a delivery:
 *   size > maxMessageBytes ─▶ dead-letter, log, FAILURE to caller if it can be told
 *   headers ─bad─▶ dead-letter, log, FAILURE to caller if it can be told
 *      │ (no task header: protocol v1, headers and body read from the body at once)
 *      │ unknown task ─▶ dead-letter, log closest names, FAILURE NotRegistered
 *      │ revoked / expired ─▶ ack, REVOKED
 *      │ acks late, started before and its worker died ─▶ redelivery guard: requeue a counted copy, or dead-letter
 *   body ─bad─▶ dead-letter, log, FAILURE
 *      │ eta in future ─▶ eta schedule ─┐
 *      ▼                                ▼
 *   rate limiter ─token─▶ pool (reserved ─slot─▶ [start mark] running) ─▶ executor
 *
 * "dead-letter" = publish to the dead-letter queue (config deadLetterQueue), then ack; to the
 * queue's own dead-letter exchange (reject without requeue) when it has one; reject and drop
 * when deadLetterQueue is null. See dead-letters.ts.
 */
import { EventEmitter } from 'node:events';
import type { App } from '../app.js';
import type { Broker, Delivery } from '../core/broker.js';
import { parseIso } from '../core/dates.js';
import { DuplicateNodeNameError, MalformedMessageError, MessageTooLargeError, NotRegisteredError } from '../core/errors.js';
import { decodeTaskHeaders, withBody, type TaskHeaders, type TaskMessage } from '../core/wire/task.js';
import { decodeTaskV1, isProtocolV1 } from '../core/wire/task-v1.js';
import { isSupportedContentType } from '../core/wire/json-body.js';
import { serializeError } from '../core/wire/exception.js';
import { closest } from '../core/registry.js';
import { setCurrentApp } from '../core/app-port.js';
import { States } from '../core/states.js';
import { AsyncPool } from './async-pool.js';
import { AsyncRunner } from './async-runner.js';
import { Autoscaler } from './autoscaler.js';
import type { TaskRunner } from './runner.js';
import { ThreadRunner } from './threads/thread-runner.js';
import { ControlServer } from './control.js';
import { createControlCommands } from './control-commands.js';
import { startWorkerEvents, stopWorkerEvents } from './events/service.js';
import { EtaSchedule } from './eta-schedule.js';
import { executeJob, type ExecutorContext } from './executor.js';
import { ackJob, Job, jobInfo, rejectJob } from './job.js';
import { RateLimiter } from './rate-limiter.js';
import { RedeliveryGuard } from './redelivery-guard.js';
import { ParkedTasks } from './parked-tasks.js';
import { DeadLetters } from './dead-letters.js';
import { StartMarks } from './start-marks.js';
import { RevokedSet } from './revoked.js';
import { TaskConsumers } from './task-consumers.js';
import { WorkerStats } from './stats.js';
import { isThenable, type MaybePromise } from '../util/maybe-promise.js';
import type { WorkerEventMap } from './worker-events.js';

/** Worker settings beyond the app config. */
export interface WorkerOptions {
  /** Queues to consume (default: the config's default queue). */
  queues?: string[];
  /** Node name (already expanded). */
  nodeName: string;
  /** Task modules given on the command line (-A), for task threads to load too. */
  modules?: string[];
}

type State = 'new' | 'running' | 'stopping' | 'stopped';

/** How long a redelivered acks-late task without a start mark waits for one that may lag behind it. */
const MARK_GRACE_MS = 500;

/** Tasks due within this many ms wait in worker memory; later ones wait in the broker. */
const ETA_HORIZON_MS = 2000;

/** A celeryts worker bound to one app. */
export class Worker extends EventEmitter<WorkerEventMap> {
  readonly nodeName: string;
  /** The task queues consumed; add_consumer / cancel_consumer change them while running. */
  readonly consumers: TaskConsumers;
  readonly stats = new WorkerStats();
  readonly revoked = new RevokedSet();
  readonly pool: AsyncPool<Job>;
  readonly limiter: RateLimiter<Job>;
  readonly eta: EtaSchedule<Job>;
  /** Tasks with a far eta this worker handed back to the broker until near their eta. */
  readonly parked = new ParkedTasks();
  readonly active = new Set<Job>();
  readonly runner: TaskRunner;
  /** Set with `--autoscale MAX,MIN`: grows and shrinks the pool with load. */
  readonly autoscaler: Autoscaler | undefined;
  #state: State = 'new';
  #broker: Broker | undefined;
  #control: ControlServer | undefined;
  #ctx: ExecutorContext | undefined;
  #stopping: Promise<void> | undefined;
  readonly #parking = new Set<Promise<void>>();
  #guard: RedeliveryGuard | undefined;
  #marks: StartMarks | undefined;
  /** Redelivered deliveries waiting for their start mark (MARK_GRACE_MS). */
  readonly #graceTimers = new Map<NodeJS.Timeout, Delivery>();
  #deadLetters: DeadLetters | undefined;

  constructor(
    readonly app: App,
    options: WorkerOptions,
  ) {
    super();
    this.nodeName = options.nodeName;
    this.consumers = new TaskConsumers(options.queues?.length ? options.queues : [app.config.defaultQueue]);
    this.pool = new AsyncPool<Job>(app.config.concurrency, (job) => this.#run(job));
    this.limiter = new RateLimiter<Job>((job) => this.pool.submit(job), !app.config.disableRateLimits);
    this.eta = new EtaSchedule<Job>((job) => this.#admit(job));
    this.runner =
      app.config.pool === 'threads'
        ? new ThreadRunner(app.config.concurrency, { config: app.config, modules: options.modules ?? [] }, app.log)
        : new AsyncRunner(app.log);
    const scale = app.config.autoscale;
    if (scale) this.autoscaler = new Autoscaler(this.pool, scale[0], scale[1], app.config.autoscaleKeepalive, app.log);
  }

  /** The task queues this worker consumes (or will, once started). */
  get queues(): string[] {
    return this.consumers.names;
  }

  /** prefetch = concurrency (with autoscale: its max) x multiplier. */
  get prefetchCount(): number {
    return (this.app.config.autoscale?.[0] ?? this.app.config.concurrency) * this.app.config.prefetchMultiplier;
  }

  get state(): State {
    return this.#state;
  }

  /** Connect, claim the node name, declare queues, start consuming. */
  async start(): Promise<void> {
    const { app } = this;
    setCurrentApp(app);
    const broker = (this.#broker = await app.broker());
    const existing = await (await app.control()).broadcast('ping', {}, { destination: [this.nodeName], timeout: 0.3 });
    if (this.nodeName in existing) throw new DuplicateNodeNameError(this.nodeName);
    const backend = await app.backend();
    this.#ctx = {
      hostname: this.nodeName,
      backend,
      log: app.log,
      sendTask: (name, args, kwargs, options) => app.sendTask(name, args, kwargs, options),
      // EventEmitter's generic emit cannot follow a generic event name; the map keeps callers typed.
      runner: this.runner,
      timeLimit: app.config.taskTimeLimit,
      softTimeLimit: app.config.taskSoftTimeLimit,
      emit: (event, ...args) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args),
    };
    const declared = await app.queues();
    const quorum = app.config.defaultQueueType === 'quorum' ? ('quorum' as const) : undefined;
    this.#marks = new StartMarks(broker, this.nodeName, app.log, quorum);
    this.#deadLetters = new DeadLetters({
      broker,
      log: app.log,
      nodeName: this.nodeName,
      queue: app.config.deadLetterQueue,
      queueOptions: (q) => app.config.queues[q] ?? {},
    });
    this.#guard = new RedeliveryGuard({
      broker,
      log: app.log,
      maxRedeliveries: app.config.maxRedeliveries,
      marks: this.#marks,
      brokerCounts: (queue) => declared.optionsOf(queue).queueType === 'quorum' && declared.optionsOf(queue).deliveryLimit !== undefined,
      refuse: (d, q, reason, err, h) => this.#refuse(d, q, reason, err, h),
    });
    this.on('task-finished', (job) => {
      this.#endMark(job);
      this.active.delete(job);
      this.stats.countProcessed(job.msg.task);
    });
    for (const name of app.registry.names()) this.limiter.setLimit(name, app.registry.get(name)!.rateLimit);
    await this.runner.start();
    if (app.config.workerEnableRemoteControl) {
      const { controlCommands: allow, controlSecret: secret, controlSignatureWindow: windowSeconds } = app.config;
      this.#control = new ControlServer(broker, this.nodeName, createControlCommands(this), app.log, { allow, secret, windowSeconds });
      await this.#control.start();
    } else app.log.info('remote control disabled (workerEnableRemoteControl false): inspect and control get no answer from this worker');
    await this.#deadLetters.start();
    await this.#marks.start(); // before any task queue: a redelivery must find its mark
    await this.consumers.declareAll({ broker, queues: await app.queues(), prefetch: this.prefetchCount, onDelivery: (d, q) => this.#onDelivery(d, q) });
    broker.on('disconnected', this.#onDisconnected);
    // Worker events (online, heartbeats, offline) always, as Celery's heart does, so monitors
    // see every worker; task events only with -E (Celery's worker_send_task_events).
    await startWorkerEvents(this, { taskEvents: app.config.sendEvents });
    this.#state = 'running';
    this.autoscaler?.start();
    await this.consumers.consumeAll();
    app.log.info({ node: this.nodeName, queues: this.queues }, `${this.nodeName} ready.`);
  }

  // A lost connection voids deliveries not yet started: the broker redelivers them, so running
  // them now would run them twice. Running jobs finish; their stale acks are no-ops.
  readonly #onDisconnected = (): void => {
    // Held in the broker, not the connection (Redis): they stay valid and settle after the reconnect.
    if (this.#broker?.capabilities.deliveriesSurviveDisconnect) return;
    const dropped = [...this.pool.takeWaiting(), ...this.limiter.takeHeld(), ...this.eta.takeAll()];
    for (const job of dropped) job.settled = true;
    if (dropped.length) this.app.log.warn({ count: dropped.length }, 'broker connection lost; reserved tasks will be redelivered');
  };

  #onDelivery(d: Delivery, queue: string, graced = false): void {
    if (this.#state !== 'running') {
      d.reject(true);
      return;
    }
    const { maxMessageBytes } = this.app.config;
    if (d.body.length > maxMessageBytes) return this.#refuse(d, queue, 'too_large', new MessageTooLargeError(d.body.length, maxMessageBytes), undefined);
    let headers: TaskHeaders;
    let v1: TaskMessage | undefined;
    try {
      headers = isProtocolV1(d.headers) ? (v1 = decodeTaskV1(d.headers, d.properties, d.body)) : decodeTaskHeaders(d.headers);
    } catch (err) {
      return this.#refuse(d, queue, rejectReason(d), err as Error, undefined);
    }
    const task = this.app.registry.get(headers.task);
    if (!task) {
      const suggestions = closest(headers.task, this.app.registry.names());
      return this.#refuse(d, queue, 'not_registered', new NotRegisteredError(headers.task, suggestions), headers);
    }
    if (this.revoked.has(headers.id) || (headers.expires && parseIso(headers.expires) < Date.now())) {
      d.ack();
      return this.#revoked(headers, d.properties.replyTo, d.properties.correlationId, this.revoked.has(headers.id) ? 'revoked' : 'expired');
    }
    const acksLate = task.acksLate ?? this.app.config.acksLate;
    // A dead worker's task and its start mark come back to the queues at about the same time,
    // in either order (RabbitMQ requeues both when it sees the connection gone, Redis restores
    // both after the visibility timeout): give a redelivered task's mark a moment to arrive.
    if (acksLate && d.redelivered && !graced && !this.#marks!.hasDied(headers.id)) {
      const timer = setTimeout(() => {
        this.#graceTimers.delete(timer);
        this.#onDelivery(d, queue, true);
      }, MARK_GRACE_MS);
      this.#graceTimers.set(timer, d);
      return;
    }
    const admitted = this.#guard!.check(d, queue, headers, acksLate);
    if (!admitted) return;
    const { delivery } = admitted;
    let msg: TaskMessage;
    try {
      msg = v1 ?? withBody(headers, d.properties, d.body);
    } catch (err) {
      return this.#refuse(d, queue, rejectReason(d), err as Error, headers);
    }
    const job = new Job(task, msg, delivery, acksLate, headers.ignoreResult || (task.ignoreResult ?? this.app.config.ignoreResult));
    job.needsStartMark = admitted.mark;
    const due = msg.eta ? parseIso(msg.eta) : NaN;
    const wait = due - Date.now();
    if (wait > ETA_HORIZON_MS) return this.#park(job, queue, due, wait);
    // A task this worker parked was announced when it first arrived (Worker#park).
    if (!this.parked.take(msg.id)) this.#received(job);
    if (wait > 0) this.eta.add(due, job);
    else this.#admit(job);
  }

  /**
   * A task due later than the horizon goes back to the broker with a delay and is acked here,
   * so far-future tasks cost no worker memory and no long-unacked delivery (RabbitMQ closes a
   * channel whose delivery stays unacked past consumer_timeout). It returns near its eta.
   */
  #park(job: Job, queue: string, due: number, wait: number): void {
    const d = job.delivery;
    // Received now, as a Python worker holding the eta task would say: monitors see it at once.
    if (!this.parked.has(job.msg.id)) this.#received(job);
    this.parked.add(job.msg.id, { due, eta: job.msg.eta!, request: jobInfo(job, this.nodeName) });
    this.app.log.debug({ taskId: job.msg.id, task: job.msg.task, eta: job.msg.eta }, 'scheduled task handed back to the broker until near its eta');
    // Back to the queue it was consumed from (its routing key names a queue only on the default exchange).
    const p = this.#broker!.publish('', queue, { headers: d.headers, properties: d.properties, body: d.body }, { delayMs: wait })
      .then(
        () => ackJob(job),
        (err: unknown) => {
          this.app.log.warn({ err, taskId: job.msg.id }, 'could not hand a scheduled task back to the broker; holding it in memory');
          this.parked.take(job.msg.id);
          this.eta.add(due, job);
        },
      )
      .finally(() => this.#parking.delete(p));
    this.#parking.add(p);
  }

  #received(job: Job): void {
    this.app.log.info({ taskId: job.msg.id, task: job.msg.task }, `Task ${job.msg.task}[${job.msg.id}] received`);
    this.emit('task-received', job);
  }

  #admit(job: Job): void {
    if (this.#state !== 'running') return rejectJob(job, true);
    this.limiter.admit(job.msg.task, job);
  }

  /** Synchronous unless the task is (or needs a start mark first): see executeJob. */
  #run(job: Job): MaybePromise<void> {
    // Voided by a lost connection or channel: the broker redelivers it, so running it now would run it twice.
    if (job.settled || job.delivery.stale) return;
    if (this.revoked.has(job.msg.id)) return this.#revokeJob(job);
    if (job.needsStartMark) return this.#markThenRun(job);
    return this.#execute(job);
  }

  /** A task that may be poison starts only once the broker holds its start mark (start-marks.ts). */
  async #markThenRun(job: Job): Promise<void> {
    job.needsStartMark = false;
    // Deliveries with a visibility timeout (Redis) can be touched: wait for the mark to be held, then touch.
    const touchable = job.delivery.touch !== undefined;
    job.startMark = await this.#marks!.mark(job.msg.id, touchable);
    if (job.startMark !== undefined && touchable) {
      // After the mark is held: should this task kill us, it is restored no earlier than its mark.
      await job.delivery.touch!().catch((err: unknown) =>
        this.app.log.warn({ err, taskId: job.msg.id }, 'could not restart the visibility timeout of a marked task'),
      );
    }
    if (job.settled || job.delivery.stale) return this.#endMark(job);
    await this.#execute(job);
  }

  #endMark(job: Job): void {
    if (job.startMark === undefined) return;
    this.#marks?.ended(job.startMark);
    job.startMark = undefined;
  }

  #execute(job: Job): MaybePromise<void> {
    this.active.add(job);
    try {
      const running = executeJob(job, this.#ctx!);
      return isThenable(running) ? Promise.resolve(running).catch((err: unknown) => this.#internalError(job, err)) : running;
    } catch (err) {
      this.#internalError(job, err);
    }
  }

  /**
   * A bug of ours while running or finishing a job (task errors never get here): log it, ack
   * the message (the task may have run; Celery acks on internal errors too) and let the slot
   * go, so one bad job cannot hold a delivery unacked and, prefetch by prefetch, stall the worker.
   */
  #internalError(job: Job, err: unknown): void {
    this.app.log.error({ err, taskId: job.msg.id, task: job.msg.task }, `Internal error while running task ${job.msg.task}[${job.msg.id}]`);
    ackJob(job);
    this.#endMark(job);
    this.active.delete(job);
  }

  /** Dead-letter (see dead-letters.ts), log once with the task id, tell the caller if possible. */
  #refuse(d: Delivery, queue: string, reason: string, err: Error, headers: TaskHeaders | undefined): void {
    this.stats.countRejected(reason);
    this.emit('task-rejected', headers, reason, err);
    const where = this.#deadLetters!.deadLetter(d, queue, reason, err);
    const taskId = headers?.id ?? (typeof d.headers['id'] === 'string' ? d.headers['id'] : undefined);
    const extra = ` The message ${where}.`;
    this.app.log.error(
      { taskId, task: headers?.task, reason, code: (err as { code?: string }).code, routingKey: d.routingKey },
      `${err instanceof MalformedMessageError ? 'Rejected malformed message' : 'Rejected message'}: ${err.message}.${extra}`,
    );
    // Every backend hears of it (rpc only when the message has a reply_to; a storing backend
    // keeps it under the task id for whoever reads it).
    if (taskId && !headers?.ignoreResult) {
      const target = { id: taskId, replyTo: d.properties.replyTo ?? null, correlationId: d.properties.correlationId ?? taskId };
      void this.#ctx?.backend
        // The reason travels as the traceback: exc_message stays what Python expects (NotRegistered(name)),
        // and the caller still learns why, with the worker's "did you mean".
        .markState(target, States.FAILURE, serializeError(err), err.message)
        ?.catch((e: unknown) => this.app.log.warn({ taskId, err: e }, 'could not report the rejected task to the result backend'));
    }
  }

  /** Log a skipped task and tell its caller REVOKED, as Celery does for revoked and expired tasks. */
  #revoked(headers: TaskHeaders, replyTo: string | undefined | null, correlationId: string | undefined | null, why: 'revoked' | 'expired'): void {
    this.parked.take(headers.id);
    this.emit('task-revoked', headers, why, false);
    this.app.log.info({ taskId: headers.id, task: headers.task }, `Discarding ${why} task: ${headers.task}[${headers.id}]`);
    if (!headers.ignoreResult) {
      const target = { id: headers.id, replyTo: replyTo ?? null, correlationId: correlationId ?? headers.id, group: headers.group, parentId: headers.parentId };
      void this.#ctx?.backend
        .markState(target, States.REVOKED, {
          exc_type: 'TaskRevokedError',
          exc_message: [why],
          exc_module: 'celery.exceptions',
        })
        ?.catch((e: unknown) => this.app.log.warn({ taskId: headers.id, err: e }, 'could not report the revoked task to the result backend'));
    }
  }

  #revokeJob(job: Job): void {
    ackJob(job);
    this.#revoked(job.msg, job.msg.replyTo, job.msg.correlationId, 'revoked');
  }

  /**
   * Warm shutdown: stop consuming, hand reserved requests back to the broker, let running
   * ones finish and ack, stop remote control and events. Idempotent. The app (and its
   * connections) stays open: close it with `app.close()` when you are done with it.
   */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#state = 'stopping';
      this.app.log.info({ node: this.nodeName, active: this.active.size }, 'worker: Warm shutdown');
      await this.consumers.cancelAll();
      for (const [timer, d] of this.#graceTimers) {
        clearTimeout(timer);
        d.reject(true);
      }
      this.#graceTimers.clear();
      this.autoscaler?.stop();
      for (const job of [...this.pool.takeWaiting(), ...this.limiter.takeHeld(), ...this.eta.takeAll()]) rejectJob(job, true);
      await this.pool.onIdle();
      await Promise.all(this.#parking);
      await this.#guard?.settled();
      await this.#deadLetters?.settled();
      await this.#marks?.stop();
      await this.runner.close();
      await this.#control?.stop();
      await stopWorkerEvents(this); // after the last task events, before the connection closes
      this.#broker?.off('disconnected', this.#onDisconnected);
      // The app is not the worker's to close: whoever created it may go on using it.
      this.#state = 'stopped';
      this.emit('stopped');
    })();
    return this.#stopping;
  }
}

/** The `inspect stats` reason for a message that cannot be decoded. */
function rejectReason(d: Delivery): 'content_type' | 'malformed' {
  return isSupportedContentType(d.properties.contentType) ? 'malformed' : 'content_type';
}
