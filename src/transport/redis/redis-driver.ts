/**
 * The Redis storage driver of the virtual layer, in kombu 5's layout (keys.ts), so celeryts
 * workers and clients share queues, remote control and events with Python Celery on one Redis.
 *
 * Where it goes beyond kombu (same keys and formats, so Python sees nothing new):
 * - taking a message and recording it as unacked is one atomic step (scripts.ts TAKE), up to
 *   the free prefetch at a time; kombu BRPOPs one message, then records it, and loses it if
 *   killed in between;
 * - acks are batched (one HDEL + ZREM per event-loop turn);
 * - live consumers keep their deliveries fresh in `unacked_index`, so the visibility timeout only
 *   returns what a dead (or cut-off) consumer held, never a long task a live worker is running;
 * - delayed messages (far-future eta) wait in a sorted set instead of unacked in a worker;
 * - declared queue options are kept (`_celeryts.queues`), so queueSize tells a missing queue
 *   from an empty one and dead-letter settings reach every consumer.
 *
 * Exchange types are known per process, as in kombu: a declared one is remembered; another is
 * a direct exchange unless its bindings carry kombu's topic pattern. `celeryev` is a fanout
 * exchange whatever type is asked, as Celery declares it on Redis (celery/events/event.py).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { BrokerCapabilities, ExchangeType, QueueOptions } from '../../core/broker.js';
import { BrokerError } from '../../core/errors.js';
import { redactPassword } from '../../util/mask-url.js';
import { parseRedisUrl, type RedisUrl } from '../../util/redis-url.js';
import type { Binding, ConsumerSink, DriverConsumer, DriverEvents, StorageDriver, StoredMessage, Subscription } from '../virtual/driver.js';
import type { BrokerLogger } from '../virtual/problem-log.js';
import { matchBindings } from '../virtual/routing.js';
import { ProblemLog } from '../virtual/problem-log.js';
import { connectionOptions, newConnection, open, run } from './connection.js';
import { encodeEnvelope } from './envelope.js';
import { FanoutHub } from './fanout.js';
import { bindingMember, Keys, kombuTopicPattern, parseBindingMember, priorityStep, SEP } from './keys.js';
import { ListConsumer } from './list-consumer.js';
import { Maintenance } from './maintenance.js';

/** Transport options, as Celery's broker_transport_options name them. */
export interface RedisTransportOptions {
  /** kombu's visibility_timeout, in seconds (default 3600). */
  visibilityTimeout?: number;
  /** kombu's global_keyprefix: prepended to every key and channel. */
  globalKeyprefix?: string;
  /** Sentinel master name when the URL has none. */
  masterName?: string;
}

/** What the adapter takes beside the transport options. */
export interface RedisDriverOptions extends RedisTransportOptions {
  logger?: BrokerLogger | undefined;
  /** Connections do not keep the process alive (see AmqpBrokerOptions.idleUnref). */
  idleUnref?: boolean | undefined;
}

/** kombu's default visibility timeout. */
export const DEFAULT_VISIBILITY_TIMEOUT_S = 3600;

/** Celery turns its event exchange into a fanout exchange on Redis. */
const FANOUT_ON_REDIS = new Set(['celeryev']);

/** The driver; see the module comment. */
export class RedisDriver implements StorageDriver {
  readonly transport = 'redis';
  readonly fanoutOverPubSub = true;
  readonly displayUrl: string;
  readonly capabilities: BrokerCapabilities;
  readonly keys: Keys;
  readonly visibilityTimeoutMs: number;
  readonly #url: string;
  readonly #idleUnref: boolean;
  readonly #parsed: RedisUrl;
  readonly #types = new Map<string, ExchangeType>();
  readonly #consumers = new Set<ListConsumer>();
  readonly #fanout: FanoutHub;
  readonly #maintenance: Maintenance;
  readonly #problems: ProblemLog;
  readonly #extra = new Set<Redis>();
  #cmd: Redis | undefined;
  #events: DriverEvents | undefined;
  #lost = false;
  #closed = false;

  constructor(url: string, options: RedisDriverOptions = {}) {
    this.#url = url;
    this.#idleUnref = options.idleUnref === true;
    this.#parsed = parseRedisUrl(url, options.masterName ? { masterName: options.masterName } : {});
    this.displayUrl = this.#parsed.displayUrl;
    const vt = options.visibilityTimeout ?? DEFAULT_VISIBILITY_TIMEOUT_S;
    if (!(vt > 0) || !Number.isFinite(vt)) throw new BrokerError(`visibilityTimeout must be a positive number of seconds, got ${vt}`);
    this.visibilityTimeoutMs = Math.round(vt * 1000);
    this.keys = new Keys(options.globalKeyprefix ?? '', this.#parsed.db);
    this.capabilities = {
      priority: 'lower-first',
      messageTtl: false,
      queueExpiry: false,
      exclusiveQueues: false,
      quorumQueues: false,
      deadLetter: true,
      exactDelay: true,
      visibilityTimeoutMs: this.visibilityTimeoutMs,
      deliveriesSurviveDisconnect: true,
      fanout: 'live',
    };
    this.#problems = new ProblemLog(options.logger, { broker: this.displayUrl });
    this.#fanout = new FanoutHub(this.keys, () => this.#connection('celeryts-sub'));
    this.#maintenance = new Maintenance({
      keys: this.keys,
      conn: () => this.cmd,
      visibilityTimeoutMs: this.visibilityTimeoutMs,
      route: (exchange, routingKey) => this.#routeForRestore(exchange, routingKey),
      reportError: (condition, err) => this.#problems.report(condition, err),
    });
  }

  /** The command connection. */
  get cmd(): Redis {
    if (!this.#cmd) throw new BrokerError(`Redis broker ${this.displayUrl} is not connected`);
    return this.#cmd;
  }

  async connect(events: DriverEvents): Promise<void> {
    this.#events = events;
    const cmd = newConnection(connectionOptions(this.#parsed.options, 'celeryts'), this.#idleUnref);
    cmd.on('error', () => undefined); // reported through 'close' / failed commands
    cmd.on('close', () => {
      if (this.#closed || this.#lost || cmd.status === 'wait') return;
      this.#lost = true;
      this.#events?.disconnected(new BrokerError(`connection to ${this.displayUrl} lost`));
    });
    cmd.on('ready', () => {
      if (!this.#lost) return;
      this.#lost = false;
      this.#events?.reconnected();
    });
    await open(cmd, this.displayUrl, (t) => redactPassword(t, this.#url));
    this.#cmd = cmd;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#maintenance.stop();
    this.#fanout.close();
    for (const c of this.#extra) c.disconnect();
    this.#extra.clear();
    this.#problems.flush();
    await this.#cmd?.quit().catch(() => undefined);
    this.#cmd?.disconnect();
  }

  // ---- queues -------------------------------------------------------------------------

  /** Undefined: ownership follows the options (exclusive queues are refused here). */
  async declareQueue(name: string, options: QueueOptions): Promise<undefined> {
    await this.cmd.hsetnx(this.keys.queueMeta, name, JSON.stringify(options));
    return undefined;
  }

  async queueOptions(name: string): Promise<QueueOptions | undefined> {
    const meta = await this.cmd.hget(this.keys.queueMeta, name);
    if (meta !== null) return JSON.parse(meta) as QueueOptions;
    // Declared by kombu, which keeps no record: it exists while it holds messages.
    return (await this.cmd.exists(...this.keys.lists(name))) > 0 ? {} : undefined;
  }

  async deleteQueue(name: string): Promise<void> {
    await run(this.cmd, 'ctsDeleteQueue', [this.keys.queueMeta, this.keys.queueBindings(name), ...this.keys.lists(name)], [name, this.keys.binding(''), SEP]);
  }

  async size(name: string): Promise<number | undefined> {
    const p = this.cmd.pipeline().hexists(this.keys.queueMeta, name);
    for (const l of this.keys.lists(name)) p.llen(l);
    const results = (await p.exec()) ?? [];
    const [declared, ...lens] = results.map(([err, v]) => {
      if (err) throw err;
      return Number(v);
    });
    const total = lens.reduce((a, b) => a + b, 0);
    return declared || total > 0 ? total : undefined;
  }

  async purge(name: string): Promise<number> {
    return Number(await run(this.cmd, 'ctsPurge', this.keys.lists(name), []));
  }

  // ---- exchanges and bindings -----------------------------------------------------------

  async declareExchange(name: string, type: ExchangeType): Promise<void> {
    const actual = FANOUT_ON_REDIS.has(name) ? 'fanout' : type;
    const known = this.#types.get(name);
    if (known && known !== actual) throw new BrokerError(`Exchange '${name}' already exists with type '${known}', not '${type}'`);
    this.#types.set(name, actual);
  }

  async exchangeType(name: string): Promise<ExchangeType> {
    return this.#types.get(name) ?? (FANOUT_ON_REDIS.has(name) ? 'fanout' : 'direct');
  }

  async bind(queue: string, exchange: string, key: string, type: ExchangeType): Promise<void> {
    const pattern = type === 'topic' ? kombuTopicPattern(key) : '';
    await this.cmd
      .pipeline()
      .sadd(this.keys.binding(exchange), bindingMember(key, pattern, queue))
      .sadd(this.keys.queueBindings(queue), exchange)
      .exec();
  }

  async bindings(exchange: string): Promise<Binding[]> {
    const out: Binding[] = [];
    for (const m of await this.cmd.smembers(this.keys.binding(exchange))) {
      const b = parseBindingMember(m);
      if (b) out.push({ queue: b.queue, key: b.key, ...(b.pattern ? { topic: true } : {}) });
    }
    return out;
  }

  // ---- messages -------------------------------------------------------------------------

  async put(queues: readonly string[], message: StoredMessage, dueAt?: number): Promise<void> {
    const envelope = encodeEnvelope(message);
    const step = priorityStep(message.properties.priority);
    const p = this.cmd.pipeline();
    for (const q of queues) {
      const list = this.keys.list(q, step);
      if (dueAt === undefined) p.lpush(list, envelope);
      else p.zadd(this.keys.delayed, dueAt, `${list.length}:${list}${envelope}`);
    }
    const results = await p.exec();
    const failed = results?.find(([e]) => e)?.[0];
    if (failed) throw new BrokerError(`publish to ${this.displayUrl} failed: ${failed.message}`, { cause: failed });
    if (dueAt !== undefined) this.#maintenance.parked(dueAt);
  }

  async publishFanout(exchange: string, routingKey: string, message: StoredMessage): Promise<void> {
    await this.cmd.publish(this.keys.fanoutChannel(exchange, routingKey), encodeEnvelope(message, randomUUID()));
  }

  async consume(queue: string, options: { noAck: boolean; subscriptions: Subscription[] }, sink: ConsumerSink): Promise<DriverConsumer> {
    if (options.subscriptions.length > 0) return this.#fanout.add(queue, options.subscriptions, sink);
    const consumer = new ListConsumer(
      {
        keys: this.keys,
        visibilityTimeoutMs: this.visibilityTimeoutMs,
        cmd: this.cmd,
        blockingConnection: () => this.#connection('celeryts-wait'),
        forget: (c) => this.#forget(c),
      },
      queue,
      options.noAck,
      sink,
    );
    this.#consumers.add(consumer);
    if (!options.noAck) this.#maintenance.start();
    consumer.start();
    return consumer;
  }

  #forget(c: ListConsumer): void {
    this.#consumers.delete(c);
  }

  /** A duplicate of the command connection (blocking waits, subscriptions), closed with the driver. */
  #connection(name: string): Redis {
    const conn = newConnection(connectionOptions(this.#parsed.options, name), this.#idleUnref);
    conn.on('error', () => undefined);
    conn.on('end', () => this.#extra.delete(conn));
    this.#extra.add(conn);
    void conn.connect().catch(() => undefined); // retried by ioredis; commands wait for it
    return conn;
  }

  async #routeForRestore(exchange: string, routingKey: string): Promise<string[]> {
    if (exchange === '') return [routingKey];
    return matchBindings(await this.exchangeType(exchange), await this.bindings(exchange), routingKey);
  }
}
