/**
 * Receiving Celery's monitoring events, as Celery's EventReceiver and events.state do: a
 * queue of its own on the `celeryev` topic exchange, events from Python and celeryts workers
 * alike, and a small model of the cluster (workers with their heartbeats, recent tasks).
 *
 *   workers ──worker.* / task.multi──▶ celeryev (topic) ──'#'──▶ celeryev.<uuid>
 *                                       (auto-delete, not durable, x-message-ttl 5 s, x-expires 60 s)
 */
import { randomUUID } from 'node:crypto';
import { supportedQueueOptions, type Broker, type Consumer, type Delivery } from '../core/broker.js';
import { declareEventExchange, EVENT_EXCHANGE, EVENT_MESSAGE_TTL_MS, EVENT_QUEUE_EXPIRES_MS } from '../core/topology.js';
import { utcoffset as utcoffsetHere } from '../core/wire/event.js';

/** An event as received: a flat object with at least `type`. */
export type ReceivedEvent = Record<string, unknown> & { type: string };

/** Called once per event: `event` is localized (timestamp, clock, local_received), `raw` is as sent. */
export type EventHandler = (event: ReceivedEvent, raw: ReceivedEvent) => void;

/** Receiver settings (Celery's event_queue_prefix, event_queue_ttl, event_queue_expires). */
export interface EventReceiverOptions {
  /** Binding pattern: '#' for everything, 'task.#' for task events only. */
  routingKey?: string;
  queuePrefix?: string;
  nodeId?: string;
  messageTtlMs?: number;
  expiresMs?: number;
}

/** Parse a delivery into events (a list for `task.multi`, else one); junk yields nothing. */
export function parseEvents(body: Buffer): ReceivedEvent[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return [];
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.filter((e): e is ReceivedEvent => e !== null && typeof e === 'object' && !Array.isArray(e) && typeof (e as ReceivedEvent).type === 'string');
}

/** Consumes the event stream. */
export class EventReceiver {
  readonly queue: string;
  #clock = 0;
  #consumer: Consumer | undefined;

  constructor(
    private readonly broker: Broker,
    private readonly options: EventReceiverOptions = {},
  ) {
    this.queue = `${options.queuePrefix ?? 'celeryev'}.${options.nodeId ?? randomUUID()}`;
  }

  /** Declare the exchange and this receiver's queue, bind it, start consuming. */
  async start(handler: EventHandler): Promise<void> {
    await declareEventExchange(this.broker);
    await this.broker.declareQueue(
      this.queue,
      supportedQueueOptions(this.broker, {
        durable: false,
        autoDelete: true,
        messageTtlMs: this.options.messageTtlMs ?? EVENT_MESSAGE_TTL_MS,
        expiresMs: this.options.expiresMs ?? EVENT_QUEUE_EXPIRES_MS,
      }),
    );
    await this.broker.bindQueue(this.queue, EVENT_EXCHANGE, this.options.routingKey ?? '#');
    this.#consumer = await this.broker.consume(this.queue, { prefetch: 0, noAck: true }, (d) => this.#receive(d, handler));
  }

  #receive(d: Delivery, handler: EventHandler): void {
    for (const raw of parseEvents(d.body)) handler(this.localize(raw), raw);
  }

  /** Celery's event_from_message: sync the clock, move the timestamp to this timezone, stamp local_received. */
  localize(raw: ReceivedEvent): ReceivedEvent {
    const event: ReceivedEvent = { ...raw };
    if (event.type === 'task-sent') {
      // Clients never sync their clocks, so theirs cannot be trusted.
      event['clock'] = (this.#clock || 1) - 1;
      this.#clock = Math.max(this.#clock, event['clock'] as number) + 1;
    } else if (typeof event['clock'] === 'number') this.#clock = Math.max(this.#clock, event['clock']) + 1;
    else event['clock'] = ++this.#clock;
    const { utcoffset, timestamp } = event;
    if (typeof utcoffset === 'number' && typeof timestamp === 'number') event['timestamp'] = timestamp - (utcoffset - utcoffsetHere()) * 3600;
    event['local_received'] = (performance.timeOrigin + performance.now()) / 1000;
    return event;
  }

  async stop(): Promise<void> {
    const c = this.#consumer;
    this.#consumer = undefined;
    await c?.cancel().catch(() => undefined);
  }
}

/** A worker as the event stream shows it. */
export interface WorkerInfo {
  hostname: string;
  /** False after worker-offline. */
  online: boolean;
  /** local_received of the last worker-* event (seconds). */
  lastHeartbeat: number | undefined;
  freq: number;
  active: number;
  processed: number;
  loadavg: number[];
  swIdent: string | undefined;
  swVer: string | undefined;
  pid: number | undefined;
}

/** A task as the event stream shows it. */
export interface TaskInfo {
  uuid: string;
  name: string | undefined;
  state: string;
  /** The worker that received it (not the client that sent it). */
  worker: string | undefined;
  args: string | undefined;
  kwargs: string | undefined;
  runtime: number | undefined;
  result: string | undefined;
  exception: string | undefined;
  retries: number | undefined;
  /** Event timestamp of the last state change (seconds). */
  timestamp: number;
}

/** Celery's TASK_EVENT_TO_STATE. */
const TASK_STATES: Record<string, string> = {
  sent: 'PENDING',
  received: 'RECEIVED',
  started: 'STARTED',
  failed: 'FAILURE',
  retried: 'RETRY',
  succeeded: 'SUCCESS',
  revoked: 'REVOKED',
  rejected: 'REJECTED',
};

/** Heartbeats may be this many freqs old before a worker counts as lost (Celery's expire window 200%). */
const HEARTBEAT_EXPIRE_FACTOR = 2;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** The cluster, built from events (Celery's events.state, reduced to what the live view shows). */
export class ClusterState {
  readonly workers = new Map<string, WorkerInfo>();
  /** Most recently changed last; bounded by maxTasks (oldest forgotten first). */
  readonly tasks = new Map<string, TaskInfo>();
  eventCount = 0;

  constructor(readonly maxTasks = 10_000) {}

  /** Apply one (localized) event. Returns what it was about, or undefined for unknown kinds. */
  update(e: ReceivedEvent): 'worker' | 'task' | undefined {
    this.eventCount++;
    const [group, kind = ''] = e.type.split(/-(.*)/s);
    if (group === 'worker') {
      this.#updateWorker(e, kind);
      return 'worker';
    }
    if (group === 'task' && typeof e['uuid'] === 'string') {
      this.#updateTask(e, kind, e['uuid']);
      return 'task';
    }
    return undefined;
  }

  #worker(hostname: string): WorkerInfo {
    let w = this.workers.get(hostname);
    if (!w) {
      w = {
        hostname,
        online: true,
        lastHeartbeat: undefined,
        freq: 2,
        active: 0,
        processed: 0,
        loadavg: [],
        swIdent: undefined,
        swVer: undefined,
        pid: undefined,
      };
      this.workers.set(hostname, w);
    }
    return w;
  }

  #updateWorker(e: ReceivedEvent, kind: string): void {
    const hostname = str(e['hostname']);
    if (!hostname) return;
    const w = this.#worker(hostname);
    w.online = kind !== 'offline';
    w.lastHeartbeat = num(e['local_received']) ?? Date.now() / 1000;
    w.freq = num(e['freq']) ?? w.freq;
    w.active = num(e['active']) ?? w.active;
    w.processed = num(e['processed']) ?? w.processed;
    if (Array.isArray(e['loadavg'])) w.loadavg = e['loadavg'].filter((x): x is number => typeof x === 'number');
    w.swIdent = str(e['sw_ident']) ?? w.swIdent;
    w.swVer = str(e['sw_ver']) ?? w.swVer;
    w.pid = num(e['pid']) ?? w.pid;
  }

  #updateTask(e: ReceivedEvent, kind: string, uuid: string): void {
    let t = this.tasks.get(uuid);
    const timestamp = num(e['timestamp']) ?? Date.now() / 1000;
    if (t)
      this.tasks.delete(uuid); // re-insert: most recently changed last
    else {
      t = {
        uuid,
        name: undefined,
        state: 'PENDING',
        worker: undefined,
        args: undefined,
        kwargs: undefined,
        runtime: undefined,
        result: undefined,
        exception: undefined,
        retries: undefined,
        timestamp: 0,
      };
    }
    this.tasks.set(uuid, t);
    if (this.tasks.size > this.maxTasks) this.tasks.delete(this.tasks.keys().next().value as string);
    const state = TASK_STATES[kind] ?? kind.toUpperCase();
    // Events of one task come from one worker in order; a client's task-sent may arrive late.
    const newer = state === 'PENDING' ? t.timestamp === 0 : timestamp >= t.timestamp || t.state === 'PENDING';
    if (newer) {
      t.state = state;
      t.timestamp = timestamp;
    }
    t.name = str(e['name']) ?? t.name;
    t.args = str(e['args']) ?? t.args;
    t.kwargs = str(e['kwargs']) ?? t.kwargs;
    t.retries = num(e['retries']) ?? t.retries;
    t.runtime = num(e['runtime']) ?? t.runtime;
    t.result = str(e['result']) ?? t.result;
    t.exception = str(e['exception']) ?? t.exception;
    if (kind !== 'sent') {
      const hostname = str(e['hostname']);
      if (hostname) {
        t.worker = hostname;
        this.#worker(hostname);
      }
    }
  }

  /** online, offline (said goodbye) or lost (heartbeats stopped). */
  status(w: WorkerInfo, now = Date.now() / 1000): 'online' | 'offline' | 'lost' {
    if (!w.online) return 'offline';
    if (w.lastHeartbeat === undefined) return 'online';
    return now < w.lastHeartbeat + w.freq * HEARTBEAT_EXPIRE_FACTOR + 1 ? 'online' : 'lost';
  }

  /** The `n` most recently changed tasks, newest first. */
  recentTasks(n: number): TaskInfo[] {
    const out: TaskInfo[] = [];
    const all = [...this.tasks.values()];
    for (let i = all.length - 1; i >= 0 && out.length < n; i--) out.push(all[i]!);
    return out;
  }
}
