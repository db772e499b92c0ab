/**
 * Prometheus metrics with Flower's names and labels (flower/events.py, PrometheusMetrics), so
 * dashboards and alerts built on Flower's /metrics keep working:
 *
 *   flower_events_total{worker,type,task}                       counter
 *   flower_task_runtime_seconds{worker,task}                    histogram
 *   flower_task_prefetch_time_seconds{worker,task}              gauge
 *   flower_worker_prefetched_tasks{worker,task}                 gauge
 *   flower_worker_online{worker}                                gauge
 *   flower_worker_number_of_currently_executing_tasks{worker}   gauge
 *
 * Written by hand in the text exposition format (version 0.0.4): six metrics do not need a
 * client library. Label sets grow with workers x task names, which an operator already bounds.
 */
import type { ReceivedEvent } from '../client/event-receiver.js';
import type { TaskRecord } from './task-store.js';

/** prometheus_client's default histogram buckets (Flower's task_runtime_metric_buckets default). */
export const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labels = (names: readonly string[], values: readonly string[]): string => `{${names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`).join(',')}}`;
const fmt = (n: number): string => (n === Infinity ? '+Inf' : Number.isInteger(n) ? `${n}.0` : String(n));

/** Values keyed by their label values joined with NUL. */
class Family {
  readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    readonly labelNames: readonly string[],
  ) {}
  add(lv: readonly string[], by: number): void {
    const k = lv.join('\0');
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  set(lv: readonly string[], v: number): void {
    this.values.set(lv.join('\0'), v);
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`);
    for (const [k, v] of this.values) out.push(`${this.name}${labels(this.labelNames, k.split('\0'))} ${fmt(v)}`);
  }
}

interface Histo {
  counts: number[];
  sum: number;
  count: number;
}

/** Flower's metrics, fed by the same events as the page. */
export class FlowerMetrics {
  readonly #events = new Family('flower_events_total', 'Number of events', 'counter', ['worker', 'type', 'task']);
  readonly #prefetchTime = new Family('flower_task_prefetch_time_seconds', 'The time the task spent waiting at the celery worker to be executed.', 'gauge', [
    'worker',
    'task',
  ]);
  readonly #prefetched = new Family('flower_worker_prefetched_tasks', 'Number of tasks of given type prefetched at a worker', 'gauge', ['worker', 'task']);
  readonly #online = new Family('flower_worker_online', 'Worker online status', 'gauge', ['worker']);
  readonly #executing = new Family('flower_worker_number_of_currently_executing_tasks', 'Number of tasks currently executing at a worker', 'gauge', ['worker']);
  readonly #runtime = new Map<string, Histo>();

  constructor(readonly buckets: readonly number[] = DEFAULT_BUCKETS) {}

  /** Count one event; `task` is the task record after the event was applied (task events only). */
  observe(e: ReceivedEvent, task: TaskRecord | undefined): void {
    const worker = typeof e['hostname'] === 'string' ? e['hostname'] : '';
    if (e.type.startsWith('task-') && task) {
      const name = task.name ?? '';
      this.#events.add([worker, e.type, name], 1);
      const runtime = e['runtime'];
      if (typeof runtime === 'number' && runtime > 0) this.#observeRuntime(worker, name, runtime);
      const queued = !task.eta && task.received !== null;
      if (e.type === 'task-received' && queued) this.#prefetched.add([worker, name], 1);
      if (e.type === 'task-started' && queued && task.started !== null) {
        this.#prefetchTime.set([worker, name], task.started - task.received!);
        this.#prefetched.add([worker, name], -1);
      }
      if ((e.type === 'task-succeeded' || e.type === 'task-failed') && queued && task.started !== null) this.#prefetchTime.set([worker, name], 0);
      return;
    }
    if (e.type === 'worker-online' || e.type === 'worker-heartbeat') this.#online.set([worker], 1);
    if (e.type === 'worker-offline') this.#online.set([worker], 0);
    if (e.type === 'worker-heartbeat' && typeof e['active'] === 'number') this.#executing.set([worker], e['active']);
  }

  /** A worker whose heartbeats stopped is no longer online (Flower learns this the same way). */
  markLost(worker: string): void {
    this.#online.set([worker], 0);
  }

  #observeRuntime(worker: string, task: string, v: number): void {
    const k = `${worker}\0${task}`;
    let h = this.#runtime.get(k);
    if (!h) this.#runtime.set(k, (h = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]!) h.counts[i]!++;
    h.sum += v;
    h.count++;
  }

  /** The exposition text. */
  render(): string {
    const out: string[] = [];
    this.#events.render(out);
    const name = 'flower_task_runtime_seconds';
    out.push(`# HELP ${name} Task runtime`, `# TYPE ${name} histogram`);
    for (const [k, h] of this.#runtime) {
      const lv = k.split('\0');
      for (const [i, b] of this.buckets.entries()) out.push(`${name}_bucket${labels(['worker', 'task', 'le'], [...lv, fmt(b)])} ${fmt(h.counts[i]!)}`);
      out.push(`${name}_bucket${labels(['worker', 'task', 'le'], [...lv, '+Inf'])} ${fmt(h.count)}`);
      out.push(`${name}_count${labels(['worker', 'task'], lv)} ${fmt(h.count)}`, `${name}_sum${labels(['worker', 'task'], lv)} ${fmt(h.sum)}`);
    }
    this.#prefetchTime.render(out);
    this.#prefetched.render(out);
    this.#online.render(out);
    this.#executing.render(out);
    return `${out.join('\n')}\n`;
  }
}
