/**
 * Workers as the dashboard sees them: liveness and counters from worker-* events (heartbeats),
 * failures counted from task events, and what only remote control can tell (pool, queues,
 * registered tasks) from the last inspect replies, kept in Flower's /api/workers shape.
 */
import type { ReceivedEvent } from '../client/event-receiver.js';

/** Inspect methods whose replies Flower keeps per worker (flower/inspector.py). */
export const INSPECT_METHODS = ['stats', 'active_queues', 'registered', 'scheduled', 'active', 'reserved', 'revoked', 'conf'] as const;
/** One of INSPECT_METHODS. */
export type InspectMethod = (typeof INSPECT_METHODS)[number];

/** A worker as the page shows it. */
export interface WorkerRecord {
  hostname: string;
  /** online, offline (said goodbye), lost (heartbeats stopped) or unknown (known only from inspect). */
  status: 'online' | 'offline' | 'lost' | 'unknown';
  /** local_received of the last worker-* event, seconds since the epoch. */
  lastHeartbeat: number | null;
  freq: number;
  active: number;
  processed: number;
  /** task-failed events seen from this worker since the dashboard started. */
  failed: number;
  succeeded: number;
  loadavg: number[];
  swIdent: string | null;
  swVer: string | null;
  pid: number | null;
  /** From inspect stats: pool implementation and concurrency. */
  pool: { implementation: string | null; maxConcurrency: number | null; processes: number } | null;
  /** From inspect active_queues. */
  queues: string[];
  /** From inspect registered: task names. */
  registered: string[];
  /** When inspect last answered, seconds since the epoch. */
  inspectedAt: number | null;
}

/** Heartbeats may be this many freqs old before a worker counts as lost (Celery's expire window). */
const EXPIRE_FACTOR = 2;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

interface Entry {
  online: boolean;
  seenByEvents: boolean;
  lastHeartbeat: number | null;
  freq: number;
  active: number;
  processed: number;
  failed: number;
  succeeded: number;
  loadavg: number[];
  swIdent: string | null;
  swVer: string | null;
  pid: number | null;
  /** Raw inspect replies (Flower's /api/workers value for this worker). */
  inspect: Partial<Record<InspectMethod, unknown>> & { timestamp?: number };
}

/** The workers the dashboard knows of. */
export class WorkerStore {
  readonly #workers = new Map<string, Entry>();

  has(hostname: string): boolean {
    return this.#workers.has(hostname);
  }

  names(): string[] {
    return [...this.#workers.keys()].sort();
  }

  #entry(hostname: string): Entry {
    let w = this.#workers.get(hostname);
    if (!w) {
      w = {
        online: true,
        seenByEvents: false,
        lastHeartbeat: null,
        freq: 2,
        active: 0,
        processed: 0,
        failed: 0,
        succeeded: 0,
        loadavg: [],
        swIdent: null,
        swVer: null,
        pid: null,
        inspect: {},
      };
      this.#workers.set(hostname, w);
    }
    return w;
  }

  /**
   * Apply an event. Returns the worker's name when it changed, and whether the worker is new
   * to the dashboard (worth an inspect).
   */
  apply(e: ReceivedEvent): { hostname: string; isNew: boolean } | undefined {
    const hostname = str(e['hostname']);
    if (!hostname) return undefined;
    if (e.type.startsWith('task-')) {
      if (e.type === 'task-sent') return undefined; // a client, not a worker
      const isNew = !this.#workers.has(hostname);
      const w = this.#entry(hostname);
      if (e.type === 'task-failed') w.failed++;
      else if (e.type === 'task-succeeded') w.succeeded++;
      else if (!isNew) return undefined;
      return { hostname, isNew };
    }
    if (!e.type.startsWith('worker-')) return undefined;
    const isNew = !this.#workers.get(hostname)?.seenByEvents;
    const w = this.#entry(hostname);
    w.seenByEvents = true;
    w.online = e.type !== 'worker-offline';
    w.lastHeartbeat = num(e['local_received']) ?? Date.now() / 1000;
    w.freq = num(e['freq']) ?? w.freq;
    w.active = num(e['active']) ?? w.active;
    w.processed = num(e['processed']) ?? w.processed;
    if (Array.isArray(e['loadavg'])) w.loadavg = e['loadavg'].filter((x): x is number => typeof x === 'number');
    w.swIdent = str(e['sw_ident']) ?? w.swIdent;
    w.swVer = str(e['sw_ver']) ?? w.swVer;
    w.pid = num(e['pid']) ?? w.pid;
    if (e.type === 'worker-online') w.failed = w.succeeded = 0; // a new process: its counters restart
    return { hostname, isNew };
  }

  /** Keep the reply of one inspect method for a worker (a worker that answers is online). */
  setInspect(hostname: string, method: InspectMethod, reply: unknown, now = Date.now() / 1000): void {
    const w = this.#entry(hostname);
    w.inspect[method] = reply;
    w.inspect.timestamp = now;
  }

  /** Flower's /api/workers value: { name: { stats, active_queues, registered, ..., timestamp } }. */
  inspectReplies(hostname?: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, w] of this.#workers) if ((!hostname || name === hostname) && w.inspect.timestamp !== undefined) out[name] = w.inspect;
    return out;
  }

  /** Flower's /api/workers?status=1: { name: alive }. */
  alive(now = Date.now() / 1000): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const name of this.#workers.keys()) out[name] = this.get(name, now)!.status === 'online';
    return out;
  }

  /** Queue names every online worker consumes, with how many consume each. */
  consumersByQueue(now = Date.now() / 1000): Map<string, number> {
    const out = new Map<string, number>();
    for (const name of this.#workers.keys()) {
      const w = this.get(name, now)!;
      for (const q of w.queues) out.set(q, (out.get(q) ?? 0) + (w.status === 'online' || w.status === 'unknown' ? 1 : 0));
    }
    return out;
  }

  get(hostname: string, now = Date.now() / 1000): WorkerRecord | undefined {
    const w = this.#workers.get(hostname);
    if (!w) return undefined;
    const stats = (w.inspect.stats ?? {}) as Record<string, unknown>;
    const pool = stats['pool'] as Record<string, unknown> | undefined;
    const queues = Array.isArray(w.inspect.active_queues)
      ? w.inspect.active_queues.map((q) => str((q as Record<string, unknown>)?.['name'])).filter((q) => q !== undefined)
      : [];
    const registered = Array.isArray(w.inspect.registered) ? w.inspect.registered.map((r) => String(r).split(' ')[0]!) : [];
    return {
      hostname,
      status: this.#status(w, now),
      lastHeartbeat: w.lastHeartbeat,
      freq: w.freq,
      active: w.active,
      processed: w.processed,
      failed: w.failed,
      succeeded: w.succeeded,
      loadavg: w.loadavg,
      swIdent: w.swIdent,
      swVer: w.swVer,
      pid: w.pid ?? num(stats['pid']) ?? null,
      pool: pool
        ? {
            implementation: str(pool['implementation']) ?? null,
            maxConcurrency: num(pool['max-concurrency']) ?? null,
            processes: Array.isArray(pool['processes']) ? pool['processes'].length : 0,
          }
        : null,
      queues,
      registered,
      inspectedAt: w.inspect.timestamp ?? null,
    };
  }

  #status(w: Entry, now: number): WorkerRecord['status'] {
    if (!w.seenByEvents) return 'unknown';
    if (!w.online) return 'offline';
    if (w.lastHeartbeat === null) return 'online';
    return now < w.lastHeartbeat + w.freq * EXPIRE_FACTOR + 1 ? 'online' : 'lost';
  }

  all(now = Date.now() / 1000): WorkerRecord[] {
    return this.names().map((n) => this.get(n, now)!);
  }
}
