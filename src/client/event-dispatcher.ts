/**
 * Publishes Celery's monitoring events on the `celeryev` topic exchange, as Celery's
 * EventDispatcher does, in the wire shapes of src/core/wire/event.ts. Workers send through it,
 * and clients (task-sent).
 *
 * Nothing waits for it: send() is synchronous and never throws. Task events are buffered and
 * flushed as one `task.multi` message per short interval (or when the batch is full), so a
 * busy worker publishes a batch per tick rather than a message per event. Publishes in flight
 * are bounded: when the broker is down or slow, further events are dropped and counted, so
 * monitoring can never eat the memory or the publish buffer that task results need.
 */
import { hostname as osHostname } from 'node:os';
import type { Broker, OutgoingMessage } from '../core/broker.js';
import { declareEventExchange, EVENT_EXCHANGE } from '../core/topology.js';
import { type CeleryEvent, EVENT_PROPERTIES, encodeEvent, eventRoutingKey, LamportClock, nowSeconds, utcoffset } from '../core/wire/event.js';
import type { Logger } from '../logging/logger.js';

export type { CeleryEvent };

/** Dispatcher settings. */
export interface EventDispatcherOptions {
  /** Who sends: the worker's node name, or `gen<pid>@<host>` for a client (Celery's anon_nodename). */
  hostname?: string;
  log?: Logger | undefined;
  /** Groups whose events are buffered into `<group>.multi` lists. Default ['task']. */
  bufferGroups?: readonly string[];
  /** Most events in one batch; a full batch is published at once. Default 100. */
  batchLimit?: number;
  /** How long a batch may wait for company, in ms. Default 10. */
  flushMs?: number;
  /** Publishes awaiting the broker before new events are dropped. Default 64. */
  maxInFlight?: number;
}

/** Sends events for one node. */
export class EventDispatcher {
  readonly hostname: string;
  readonly clock = new LamportClock();
  readonly pid = process.pid;
  /** Groups to send ('task', 'worker'); null sends every group (Celery's groups=None). */
  groups: Set<string> | null = null;
  /** Events dropped because the broker could not keep up (or was gone). */
  dropped = 0;
  readonly #log: Logger | undefined;
  readonly #bufferGroups: ReadonlySet<string>;
  readonly #batchLimit: number;
  readonly #flushMs: number;
  readonly #maxInFlight: number;
  readonly #buffers = new Map<string, CeleryEvent[]>();
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #enabled = false;
  #warned = false;

  constructor(
    private readonly broker: Broker,
    options: EventDispatcherOptions = {},
  ) {
    this.hostname = options.hostname ?? `gen${process.pid}@${osHostname()}`;
    this.#log = options.log;
    this.#bufferGroups = new Set(options.bufferGroups ?? ['task']);
    this.#batchLimit = options.batchLimit ?? 100;
    this.#flushMs = options.flushMs ?? 10;
    this.#maxInFlight = options.maxInFlight ?? 64;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * Declare the exchange and start sending. A declaration the broker refuses disables events
   * (logged) rather than failing the caller: monitoring is never worth stopping a worker for.
   */
  async start(): Promise<boolean> {
    try {
      await declareEventExchange(this.broker);
      this.#enabled = true;
    } catch (err) {
      this.#log?.error({ err }, `cannot declare the '${EVENT_EXCHANGE}' exchange; events are disabled`);
    }
    return this.#enabled;
  }

  /** Build an event with Celery's envelope (forwarding the clock). */
  event(type: string, fields: Record<string, unknown>): CeleryEvent {
    return { hostname: this.hostname, utcoffset: utcoffset(), pid: this.pid, clock: this.clock.forward(), ...fields, timestamp: nowSeconds(), type };
  }

  /** Send an event of a wanted group: buffered groups are batched, others go out alone. */
  send(type: string, fields: Record<string, unknown>): void {
    if (!this.#enabled) return;
    const group = type.split('-', 1)[0]!;
    if (this.groups && !this.groups.has(group)) return;
    if (!this.#bufferGroups.has(group)) return this.#publish(eventRoutingKey(type), this.event(type, fields));
    let buf = this.#buffers.get(group);
    if (!buf) this.#buffers.set(group, (buf = []));
    buf.push(this.event(type, fields));
    if (buf.length >= this.#batchLimit) this.flush();
    else this.#timer ??= setTimeout(() => this.flush(), this.#flushMs).unref();
  }

  /** Publish one event alone, whatever its group (Celery's publish(); task-sent goes this way). */
  publish(type: string, fields: Record<string, unknown>): void {
    if (this.#enabled) this.#publish(eventRoutingKey(type), this.event(type, fields));
  }

  /** Publish every buffered batch now. */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const [group, events] of this.#buffers) {
      if (events.length) this.#publish(`${group}.multi`, events.splice(0));
    }
  }

  #publish(routingKey: string, body: CeleryEvent | CeleryEvent[]): void {
    const count = Array.isArray(body) ? body.length : 1;
    if (this.#inFlight.size >= this.#maxInFlight) return this.#drop(count, undefined);
    const message: OutgoingMessage = { body: encodeEvent(body), headers: { hostname: this.hostname }, properties: { ...EVENT_PROPERTIES } };
    let p: Promise<void>;
    try {
      p = this.broker.publish(EVENT_EXCHANGE, routingKey, message);
    } catch (err) {
      return this.#drop(count, err); // a closed broker throws synchronously
    }
    const tracked = p.then(
      () => {
        this.#warned = false;
      },
      (err: unknown) => this.#drop(count, err),
    );
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }

  #drop(count: number, err: unknown): void {
    this.dropped += count;
    if (this.#warned) return;
    this.#warned = true; // once per outage: the next successful publish re-arms it
    this.#log?.warn(
      { err: (err as Error | undefined)?.message, dropped: this.dropped },
      'monitoring events are being dropped (broker unavailable or too slow)',
    );
  }

  /** Flush, then wait (at most `timeoutMs`) for publishes in flight; stop sending. */
  async close(timeoutMs = 2000): Promise<void> {
    this.flush();
    this.#enabled = false;
    if (!this.#inFlight.size) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.#inFlight]), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }
}
