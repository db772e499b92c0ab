/**
 * The dashboard's memory of tasks, built from the event stream: the last `maxTasks` tasks
 * (most recently changed last; the oldest is forgotten first), each with Flower's fields
 * (celery.events.state.Task.as_dict) and a short timeline of the events that made it.
 */
import type { ReceivedEvent } from '../client/event-receiver.js';

/** One event in a task's timeline. */
export interface TimelineEntry {
  type: string;
  /** Event timestamp, seconds since the epoch. */
  timestamp: number;
  hostname: string | undefined;
  /** Fields of the event worth showing (exception, result, runtime, ...). */
  detail: Record<string, unknown>;
}

/** A task as the dashboard knows it; the public fields are Flower's (Task.as_dict). */
export interface TaskRecord {
  uuid: string;
  name: string | null;
  state: string;
  worker: string | null;
  args: string | null;
  kwargs: string | null;
  result: string | null;
  exception: string | null;
  traceback: string | null;
  retries: number | null;
  eta: string | null;
  expires: string | null;
  sent: number | null;
  received: number | null;
  started: number | null;
  succeeded: number | null;
  failed: number | null;
  retried: number | null;
  revoked: number | null;
  rejected: number | null;
  runtime: number | null;
  /** Timestamp of the event that set the current state. */
  timestamp: number | null;
  clock: number | null;
  exchange: string | null;
  routing_key: string | null;
  client: string | null;
  root_id: string | null;
  parent_id: string | null;
  timeline: TimelineEntry[];
}

/** Celery's TASK_EVENT_TO_STATE. */
const STATE_OF: Record<string, string> = {
  sent: 'PENDING',
  received: 'RECEIVED',
  started: 'STARTED',
  failed: 'FAILURE',
  retried: 'RETRY',
  succeeded: 'SUCCESS',
  revoked: 'REVOKED',
  rejected: 'REJECTED',
};

/** Event kinds whose timestamp Flower keeps in a field of the same name. */
const TIME_FIELDS = new Set(['sent', 'received', 'started', 'succeeded', 'failed', 'retried', 'revoked', 'rejected']);

/** Copied from events into the record when present. */
const STRING_FIELDS = [
  'name',
  'args',
  'kwargs',
  'result',
  'exception',
  'traceback',
  'eta',
  'expires',
  'exchange',
  'routing_key',
  'root_id',
  'parent_id',
] as const;

/** Fields a timeline entry keeps (everything else is already on the record or noise). */
const TIMELINE_FIELDS = ['exception', 'result', 'runtime', 'retries', 'terminated', 'signum', 'expired', 'requeue', 'eta', 'pid'];

/** A retried task can produce many events; the timeline keeps the first few and the latest. */
const MAX_TIMELINE = 40;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function newRecord(uuid: string): TaskRecord {
  return {
    uuid,
    name: null,
    state: 'PENDING',
    worker: null,
    args: null,
    kwargs: null,
    result: null,
    exception: null,
    traceback: null,
    retries: null,
    eta: null,
    expires: null,
    sent: null,
    received: null,
    started: null,
    succeeded: null,
    failed: null,
    retried: null,
    revoked: null,
    rejected: null,
    runtime: null,
    timestamp: null,
    clock: null,
    exchange: null,
    routing_key: null,
    client: null,
    root_id: null,
    parent_id: null,
    timeline: [],
  };
}

/** Filters of Flower's /api/tasks (names kept), all optional. */
export interface TaskQuery {
  state?: string | undefined;
  taskname?: string | undefined;
  workername?: string | undefined;
  /** Seconds since the epoch, inclusive. */
  receivedStart?: number | undefined;
  receivedEnd?: number | undefined;
  /** Substring of id, name, args, kwargs or result. */
  search?: string | undefined;
  /** name, state, received, started, runtime; '-' prefix for descending. Default: most recent first. */
  sortBy?: string | undefined;
  offset?: number | undefined;
  limit?: number | undefined;
}

const SORT_KEYS = new Set(['name', 'state', 'received', 'started', 'runtime', 'timestamp']);

/** Bounded task memory. */
export class TaskStore {
  readonly #tasks = new Map<string, TaskRecord>();
  /** How many tasks were forgotten to stay within maxTasks. */
  forgotten = 0;
  /** Task names seen (Flower's task_types). */
  readonly names = new Set<string>();

  constructor(readonly maxTasks = 10_000) {}

  get size(): number {
    return this.#tasks.size;
  }

  get(uuid: string): TaskRecord | undefined {
    return this.#tasks.get(uuid);
  }

  /** Apply a task-* event; returns the record it changed, or undefined when it is not a task event. */
  apply(e: ReceivedEvent): TaskRecord | undefined {
    const uuid = str(e['uuid']);
    if (!uuid || !e.type.startsWith('task-')) return undefined;
    const kind = e.type.slice(5);
    let t = this.#tasks.get(uuid);
    if (t)
      this.#tasks.delete(uuid); // re-inserted below: most recently changed last
    else t = newRecord(uuid);
    this.#tasks.set(uuid, t);
    if (this.#tasks.size > this.maxTasks) {
      this.#tasks.delete(this.#tasks.keys().next().value as string);
      this.forgotten++;
    }
    const timestamp = num(e['timestamp']) ?? Date.now() / 1000;
    const state = STATE_OF[kind] ?? kind.toUpperCase();
    // One worker sends a task's events in order; a client's task-sent may come after them.
    const newer = state === 'PENDING' ? t.timestamp === null : t.timestamp === null || timestamp >= t.timestamp || t.state === 'PENDING';
    if (newer) {
      t.state = state;
      t.timestamp = timestamp;
    }
    if (TIME_FIELDS.has(kind)) (t as unknown as Record<string, number>)[kind] = timestamp;
    for (const f of STRING_FIELDS) {
      const v = str(e[f]);
      if (v !== undefined) (t as unknown as Record<string, string>)[f] = v;
    }
    if (t.name) this.names.add(t.name);
    t.retries = num(e['retries']) ?? t.retries;
    t.runtime = num(e['runtime']) ?? t.runtime;
    t.clock = num(e['clock']) ?? t.clock;
    const hostname = str(e['hostname']);
    if (kind === 'sent') t.client = hostname ?? t.client;
    else if (hostname) t.worker = hostname;
    this.#addTimeline(t, e, timestamp, hostname);
    return t;
  }

  #addTimeline(t: TaskRecord, e: ReceivedEvent, timestamp: number, hostname: string | undefined): void {
    const detail: Record<string, unknown> = {};
    for (const f of TIMELINE_FIELDS) if (e[f] !== undefined && e[f] !== null) detail[f] = e[f];
    if (t.timeline.length >= MAX_TIMELINE) t.timeline.splice(MAX_TIMELINE / 2, 1);
    t.timeline.push({ type: e.type, timestamp, hostname, detail });
  }

  /** Tasks matching `q`, most recently changed first unless sorted otherwise. */
  query(q: TaskQuery = {}): TaskRecord[] {
    const search = q.search?.toLowerCase();
    const matches = (t: TaskRecord): boolean =>
      (!q.state || t.state === q.state) &&
      (!q.taskname || t.name === q.taskname) &&
      (!q.workername || t.worker === q.workername) &&
      (q.receivedStart === undefined || (t.received ?? t.sent ?? 0) >= q.receivedStart) &&
      (q.receivedEnd === undefined || (t.received ?? t.sent ?? Infinity) <= q.receivedEnd) &&
      (!search || [t.uuid, t.name, t.args, t.kwargs, t.result].some((v) => v?.toLowerCase().includes(search)));
    const all = [...this.#tasks.values()];
    let out: TaskRecord[] = [];
    const sortKey = q.sortBy?.replace(/^-/, '');
    if (sortKey && SORT_KEYS.has(sortKey)) {
      out = all.filter(matches);
      const dir = q.sortBy!.startsWith('-') ? -1 : 1;
      const key = (t: TaskRecord): string | number => (t as unknown as Record<string, string | number | null>)[sortKey] ?? '';
      out.sort((a, b) => (key(a) < key(b) ? -dir : key(a) > key(b) ? dir : 0));
    } else {
      const want = (q.offset ?? 0) + (q.limit ?? Infinity);
      for (let i = all.length - 1; i >= 0 && out.length < want; i--) if (matches(all[i]!)) out.push(all[i]!);
    }
    const start = Math.max(0, q.offset ?? 0);
    return out.slice(start, q.limit === undefined ? undefined : start + q.limit);
  }
}

/** Flower's task dict: the record without the dashboard's timeline. */
export function flowerTask(t: TaskRecord): Omit<TaskRecord, 'timeline'> {
  const { timeline: _timeline, ...rest } = t;
  return rest;
}

/** What a row of the page's task table needs (args cut short: a row is not the task page). */
export interface TaskRow {
  uuid: string;
  name: string | null;
  state: string;
  worker: string | null;
  args: string | null;
  kwargs: string | null;
  received: number | null;
  started: number | null;
  runtime: number | null;
  timestamp: number | null;
  retries: number | null;
}

const cut = (s: string | null, n: number): string | null => (s && s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The row of `t`. */
export function taskRow(t: TaskRecord): TaskRow {
  return {
    uuid: t.uuid,
    name: t.name,
    state: t.state,
    worker: t.worker,
    args: cut(t.args, 200),
    kwargs: cut(t.kwargs, 200),
    received: t.received ?? t.sent,
    started: t.started,
    runtime: t.runtime,
    timestamp: t.timestamp,
    retries: t.retries,
  };
}
