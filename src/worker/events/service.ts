/**
 * Celery events for a worker (-E / sendEvents): a dispatcher, a heart, and listeners on the
 * worker's typed in-process events. The worker only starts and stops it; remote control
 * (enable_events, disable_events, heartbeat) finds it through `workerEventsOf`.
 *
 *   worker ──'task-*' (in process)──▶ listeners ─▶ dispatcher ─▶ celeryev  (task.multi batches)
 *   heart  ──every 2 s──────────────────────────▶ dispatcher ─▶ celeryev  (worker.heartbeat)
 */
import type { Broker } from '../../core/broker.js';
import type { Logger } from '../../logging/logger.js';
import type { Worker } from '../worker.js';
import type { WorkerEventMap } from '../worker-events.js';
import { EventDispatcher } from '../../client/event-dispatcher.js';
import { Heart } from './heart.js';
import { taskEventListeners } from './task-events.js';

/** What events need from a worker. */
export type EventSource = Pick<Worker, 'nodeName' | 'active' | 'stats' | 'on' | 'off'>;

/** Options of a worker's event service. */
export interface WorkerEventsOptions {
  /** Send task events too (default true); false sends worker heartbeats only. */
  taskEvents?: boolean;
  /** Heartbeat interval in seconds (default 2). */
  freq?: number;
  log?: Logger | undefined;
}

type Listener = (...args: unknown[]) => void;

/** A worker's running event service. */
export class WorkerEvents {
  readonly dispatcher: EventDispatcher;
  readonly heart: Heart;
  readonly #listeners: [keyof WorkerEventMap, Listener][];

  constructor(
    private readonly source: EventSource,
    broker: Broker,
    options: WorkerEventsOptions = {},
  ) {
    this.dispatcher = new EventDispatcher(broker, { hostname: source.nodeName, log: options.log });
    this.heart = new Heart(this.dispatcher, { active: () => source.active.size, processed: () => source.stats.processed }, options.freq ?? 2.0);
    this.#listeners = Object.entries(taskEventListeners(this.dispatcher)) as [keyof WorkerEventMap, Listener][];
    this.taskEvents = options.taskEvents ?? true;
  }

  /** Whether task events are sent (Celery's 'task' group; enable_events/disable_events). */
  get taskEvents(): boolean {
    return !this.dispatcher.groups || this.dispatcher.groups.has('task');
  }

  set taskEvents(on: boolean) {
    this.dispatcher.groups = on ? null : new Set(['worker']);
  }

  /** Declare the exchange, listen to the worker, send worker-online. */
  async start(): Promise<void> {
    if (!(await this.dispatcher.start())) return;
    for (const [event, fn] of this.#listeners) this.source.on(event, fn as never);
    this.heart.start();
  }

  /** Stop listening, flush task events, send worker-offline and wait (bounded) for the publishes. */
  async stop(): Promise<void> {
    for (const [event, fn] of this.#listeners) this.source.off(event, fn as never);
    this.heart.stop();
    await this.dispatcher.close();
  }
}

const running = new WeakMap<EventSource, Promise<WorkerEvents>>();

/** Start sending events for `worker` (idempotent). */
export function startWorkerEvents(worker: EventSource & Pick<Worker, 'app'>, options: WorkerEventsOptions = {}): Promise<WorkerEvents> {
  let started = running.get(worker);
  if (!started) {
    started = (async () => {
      const events = new WorkerEvents(worker, await worker.app.broker(), { log: worker.app.log, ...options });
      await events.start();
      return events;
    })();
    running.set(worker, started);
    started.catch(() => running.delete(worker));
  }
  return started;
}

/** The worker's event service, if it runs. */
export function workerEventsOf(worker: EventSource): Promise<WorkerEvents> | undefined {
  return running.get(worker);
}

/** Stop the worker's events (no-op when none run). Never throws: shutdown must go on. */
export async function stopWorkerEvents(worker: EventSource): Promise<void> {
  const started = running.get(worker);
  running.delete(worker);
  await (await started?.catch(() => undefined))?.stop().catch(() => undefined);
}
