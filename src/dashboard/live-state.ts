/**
 * What the dashboard knows, fed by events and inspect replies, and pushed to open pages.
 * Events arrive by the thousand per second on a busy cluster; pages get the changes in one
 * batch every PUSH_MS (one timer for all, armed only when something changed), never per event.
 *
 *   celeryev ──events──▶ apply() ──▶ TaskStore / WorkerStore / TaskSeries / FlowerMetrics
 *                                        │ dirty ids
 *                                        ▼ every PUSH_MS
 *                                   SseHub ──'tasks', 'workers'──▶ pages
 */
import type { ReceivedEvent } from '../client/event-receiver.js';
import { FlowerMetrics } from './prometheus.js';
import { TaskSeries } from './series.js';
import type { SseHub } from './sse.js';
import { TaskStore, taskRow, type TaskRow } from './task-store.js';
import { WorkerStore, type WorkerRecord } from './worker-store.js';

/** Changes reach pages at most this often. */
const PUSH_MS = 200;
/** A snapshot sends at most this many tasks; the page asks the API for older ones. */
export const SNAPSHOT_TASKS = 1000;

/** A queue as the page shows it. */
export interface QueueInfo {
  name: string;
  /** Ready messages, or null when the broker did not say (queue missing). */
  messages: number | null;
  /** Online workers consuming it. */
  consumers: number;
}

/** The dashboard's live model. */
export class LiveState {
  readonly tasks: TaskStore;
  readonly workers = new WorkerStore();
  readonly series = new TaskSeries();
  readonly metrics = new FlowerMetrics();
  queues: QueueInfo[] = [];
  eventCount = 0;
  readonly #dirtyTasks = new Set<string>();
  readonly #dirtyWorkers = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  readonly #lastStatus = new Map<string, string>();

  constructor(
    readonly hub: SseHub,
    maxTasks: number,
    /** Called with a worker's name the first time it shows up (to inspect it). */
    readonly onNewWorker: (hostname: string) => void = () => undefined,
  ) {
    this.tasks = new TaskStore(maxTasks);
  }

  /** Apply one localized event. */
  apply(e: ReceivedEvent): void {
    this.eventCount++;
    const task = this.tasks.apply(e);
    if (task) {
      this.#dirtyTasks.add(task.uuid);
      if (e.type === 'task-succeeded' || e.type === 'task-failed') {
        this.series.record(e.type === 'task-succeeded' ? 'succeeded' : 'failed', task.timestamp ?? Date.now() / 1000, task.runtime ?? undefined);
      }
    }
    this.metrics.observe(e, task);
    const w = this.workers.apply(e);
    if (w) {
      this.#dirtyWorkers.add(w.hostname);
      if (w.isNew) this.onNewWorker(w.hostname);
    }
    this.#schedule();
  }

  /** A worker changed outside the event stream (inspect replies). */
  touchWorker(hostname: string): void {
    this.#dirtyWorkers.add(hostname);
    this.#schedule();
  }

  #schedule(): void {
    this.#timer ??= setTimeout(() => this.flush(), PUSH_MS);
  }

  /** Push pending changes now. */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#dirtyTasks.size) {
      const rows: TaskRow[] = [];
      for (const id of this.#dirtyTasks) {
        const t = this.tasks.get(id);
        if (t) rows.push(taskRow(t));
      }
      this.#dirtyTasks.clear();
      this.hub.send('tasks', { rows, total: this.tasks.size, forgotten: this.tasks.forgotten, events: this.eventCount });
    }
    if (this.#dirtyWorkers.size) {
      const now = Date.now() / 1000;
      const list = [...this.#dirtyWorkers].map((h) => this.workers.get(h, now)).filter((w): w is WorkerRecord => w !== undefined);
      this.#dirtyWorkers.clear();
      for (const w of list) this.#lastStatus.set(w.hostname, w.status);
      this.hub.send('workers', { workers: list, now });
    }
  }

  /** Once a second: workers whose heartbeats stopped turn lost (no event says so). */
  tick(now = Date.now() / 1000): void {
    for (const w of this.workers.all(now)) {
      if (this.#lastStatus.get(w.hostname) === w.status) continue;
      if (w.status === 'lost') this.metrics.markLost(w.hostname);
      this.#dirtyWorkers.add(w.hostname);
    }
    if (this.#dirtyWorkers.size) this.flush();
    // The open bucket and the one just closed: charts move with the clock even when idle.
    if (this.hub.size) this.hub.send('series', { points: this.series.points(now).slice(-2) });
  }

  /** Everything a page needs when it (re)connects. */
  snapshot(now = Date.now() / 1000): Record<string, unknown> {
    return {
      now,
      workers: this.workers.all(now),
      tasks: this.tasks.query({ limit: SNAPSHOT_TASKS }).map(taskRow),
      total: this.tasks.size,
      forgotten: this.tasks.forgotten,
      maxTasks: this.tasks.maxTasks,
      events: this.eventCount,
      taskNames: [...this.tasks.names].sort(),
      queues: this.queues,
      series: this.series.points(now),
      bucketSeconds: this.series.bucketSeconds,
    };
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
