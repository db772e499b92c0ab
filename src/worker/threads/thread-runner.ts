/**
 * The thread pool's runner: `size` worker_threads, each with the task modules loaded, one
 * job at a time. A hard time limit or revoke --terminate terminates the thread (the only way
 * to stop running JavaScript) and starts a fresh one; a thread that dies on its own makes its
 * job LOST (WorkerLostError, or a requeue with rejectOnWorkerLost).
 */
import { Worker as Thread } from 'node:worker_threads';
import { ModuleLoadError, WorkerLostError } from '../../core/errors.js';
import type { Request } from '../../core/request.js';
import type { ExceptionDetails } from '../../core/task.js';
import type { Logger } from '../../logging/logger.js';
import type { Job } from '../job.js';
import type { Outcome } from '../outcome.js';
import type { TaskRunner } from '../runner.js';
import type { MaybePromise } from '../../util/maybe-promise.js';
import { reassertOldSpaceGrowth } from '../../util/old-space-growth.js';
import { reassertSemiSpaceCap } from '../../util/semi-space-cap.js';
import { fromWireOutcome, toWireError, toWireRequest, type FromThread, type ToThread } from './messages.js';
import type { ThreadData } from './thread-main.js';

// Under tsx (tests) this file is .ts and so is its sibling; compiled, both are .js.
const SCRIPT = new URL(import.meta.url.endsWith('.ts') ? './thread-main.ts' : './thread-main.js', import.meta.url);

/** One thread and the job it runs. */
class Slot {
  thread!: Thread;
  job: Job | undefined;
  #runResolve: ((o: Outcome) => void) | undefined;
  #finishResolve: (() => void) | undefined;
  #jobId = '';
  /** False once the thread said it has no handlers to run for the current job. */
  #finishNeeded = true;
  #ready!: Promise<void>;
  #replacing = false;

  constructor(
    private readonly data: ThreadData,
    private readonly log: Logger,
  ) {
    this.#spawn();
  }

  get ready(): Promise<void> {
    return this.#ready;
  }

  #spawn(): void {
    // V8 sizes a thread's young generation at 3 semi-spaces (two plus new large objects).
    const semi = this.data.config.workerMaxSemiSpaceMb;
    const thread = new Thread(SCRIPT, { workerData: this.data, ...(semi > 0 ? { resourceLimits: { maxYoungGenerationSizeMb: 3 * semi } } : {}) });
    this.thread = thread;
    thread.once('online', () => {
      reassertSemiSpaceCap();
      reassertOldSpaceGrowth();
    });
    this.#ready = new Promise((resolve, reject) => {
      const onMessage = (m: FromThread) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'load-error') reject(new ModuleLoadError(`task thread could not load the task modules: ${m.message}`));
        else if (m.type === 'outcome' && m.jobId === this.#jobId) {
          this.#finishNeeded = !m.finished;
          this.#settleRun(fromWireOutcome(m.outcome));
        } else if (m.type === 'finished' && m.jobId === this.#jobId) this.#settleFinish();
      };
      thread.on('message', onMessage);
      thread.on('error', (err) => {
        this.log.error({ err, taskId: this.job?.msg.id }, 'task thread crashed');
        reject(err);
      });
      thread.on('exit', (code) => {
        if (this.thread !== thread || this.#replacing) return;
        // Died on its own: the job it held is lost; start a replacement.
        this.#settleRun({ state: 'LOST', error: new WorkerLostError(`thread exited with code ${code}`) });
        this.#settleFinish();
        this.#spawn();
        this.#ready.catch((err: Error) => this.log.error({ err }, 'replacement task thread failed to start'));
      });
    });
    this.#ready.catch(() => undefined);
  }

  #settleRun(o: Outcome): void {
    const r = this.#runResolve;
    this.#runResolve = undefined;
    r?.(o);
  }

  #settleFinish(): void {
    const r = this.#finishResolve;
    this.#finishResolve = undefined;
    this.job = undefined;
    r?.();
  }

  #post(m: ToThread): void {
    this.thread.postMessage(m);
  }

  async run(job: Job, request: Request): Promise<Outcome> {
    await this.#ready;
    this.job = job;
    this.#jobId = `${job.msg.id}:${performance.now()}`;
    this.#finishNeeded = true;
    const wire = toWireRequest(request);
    return new Promise<Outcome>((resolve) => {
      this.#runResolve = resolve;
      try {
        this.#post({ type: 'run', jobId: this.#jobId, name: job.msg.task, args: job.msg.args, kwargs: job.msg.kwargs, request: wire });
      } catch (err) {
        // Arguments that cannot be cloned into the thread fail the task, not the worker.
        this.#settleRun({ state: 'FAILURE', error: err });
      }
    });
  }

  finish(outcome: Outcome): Promise<void> | undefined {
    if (!this.job) return undefined;
    if (!this.#finishNeeded) {
      this.#settleFinish();
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.#finishResolve = resolve;
      const error = outcome.state === 'FAILURE' ? { error: toWireError(outcome.error) } : {};
      this.#post({ type: 'finish', jobId: this.#jobId, state: outcome.state, ...error });
    });
  }

  soft(seconds: number): void {
    this.#post({ type: 'soft', jobId: this.#jobId, seconds });
  }

  /** Replace an idle thread with a fresh one, which loads the task modules anew (pool_restart). */
  renew(): void {
    const old = this.thread;
    this.#replacing = true;
    void old.terminate().finally(() => (this.#replacing = false));
    this.#spawn();
    this.#ready.catch((err: Error) => this.log.error({ err }, 'restarted task thread failed to start'));
  }

  /** Terminate the thread, settle the job with `outcome`, start a fresh thread. */
  kill(outcome: Outcome): void {
    const old = this.thread;
    this.#replacing = true;
    void old.terminate().finally(() => (this.#replacing = false));
    this.#settleRun(outcome);
    this.#settleFinish();
    this.#spawn();
    this.#ready.catch((err: Error) => this.log.error({ err }, 'replacement task thread failed to start'));
  }

  async close(): Promise<void> {
    this.#replacing = true;
    await this.thread.terminate();
  }
}

/** Runs task bodies in worker threads. */
export class ThreadRunner implements TaskRunner {
  readonly kind = 'threads';
  readonly #slots: Slot[] = [];
  /** Slots with no job, so finding one is not a scan. */
  readonly #idle: Slot[] = [];
  readonly #byJob = new Map<Job, Slot>();
  /** Busy slots to renew once their job is done (pool_restart). */
  readonly #renewWhenIdle = new Set<Slot>();

  constructor(
    private readonly size: number,
    private readonly data: ThreadData,
    private readonly log: Logger,
  ) {}

  /** Thread ids, for inspect stats. */
  processes(): number[] {
    return this.#slots.map((s) => s.thread.threadId);
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.size; i++) this.#slots.push(new Slot(this.data, this.log));
    this.#idle.push(...this.#slots);
    await Promise.all(this.#slots.map((s) => s.ready));
  }

  run(job: Job, request: Request): Promise<Outcome> {
    // The pool admits at most `size` jobs at once and a job keeps its slot until finish() or kill().
    const slot = this.#idle.pop();
    if (!slot) return Promise.resolve({ state: 'LOST', error: new WorkerLostError('no free task thread') });
    this.#byJob.set(job, slot);
    return slot.run(job, request);
  }

  finish(job: Job, outcome: Outcome, _retval: unknown, _einfo: ExceptionDetails | null): MaybePromise<void> {
    const slot = this.#byJob.get(job);
    if (!slot) return undefined;
    this.#byJob.delete(job);
    const release = (): void => {
      if (this.#renewWhenIdle.delete(slot)) slot.renew();
      this.#idle.push(slot);
    };
    const finishing = slot.job === job ? slot.finish(outcome) : undefined;
    if (!finishing) return release();
    return finishing.then(release);
  }

  soft(job: Job, seconds: number): void {
    this.#byJob.get(job)?.soft(seconds);
  }

  kill(job: Job, outcome: Outcome): void {
    const slot = this.#byJob.get(job);
    if (!slot) return;
    this.#byJob.delete(job);
    if (slot.job === job) slot.kill(outcome);
    this.#renewWhenIdle.delete(slot); // kill() started a fresh thread already
    this.#idle.push(slot);
  }

  /**
   * pool_restart: fresh threads, which import the task modules again (a changed module is
   * picked up); idle threads are replaced now, busy ones once their task is done.
   */
  restart(): void {
    const idle = new Set(this.#idle);
    for (const slot of this.#slots) {
      if (idle.has(slot)) slot.renew();
      else this.#renewWhenIdle.add(slot);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.close()));
  }
}
