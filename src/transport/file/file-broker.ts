/**
 * The embedded file broker: the `Broker` port on a directory that several processes on one
 * machine share. Nothing to install, durable across restarts, AMQP semantics where celeryts
 * relies on them (exchanges, bindings, prefetch, ack/requeue/dead-letter, redelivered flag).
 *
 * How it stays correct across processes, in one paragraph: every state change is a rename(2),
 * link(2) or unlink(2) of one file, which the kernel makes atomic; a message is claimed by
 * renaming it into a per-consumer directory named after the owning process, so exactly one
 * consumer wins and a dead owner's claims can be found and returned. See layout.ts for the
 * directory tree, consumer.ts for delivery and wake-up, recovery.ts for crash recovery.
 *
 * Usage: `new FileBroker('file://.celeryts/broker')` (relative to cwd) or `file:///abs/dir`.
 */
import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import type {
  Broker,
  BrokerCapabilities,
  ConsumeOptions,
  Consumer,
  DeliveryHandler,
  ExchangeType,
  OutgoingMessage,
  PublishOptions,
  QueueOptions,
} from '../../core/broker.js';
import { BrokerError } from '../../core/errors.js';
import { publishDelay } from '../publish-delay.js';
import { FileConsumer, type ConsumerHost } from './consumer.js';
import { DelayedMessages } from './delay-mover.js';
import { Layout, rootFromUrl } from './layout.js';
import { encodeMessage, type StoredMessage } from './message-codec.js';
import { LEASE_TOUCH_MS, Liveness, SELF_OWNER, USES_LEASE } from './owner.js';
import { isOwnedQueue, QueueStore, type QueueMeta } from './queue-store.js';
import { RECOVERY_MS, recoverDeadOwners, type RecoveryHost } from './recovery.js';
import { Topology } from './topology.js';
import { type BrokerLogger, ProblemLog } from '../virtual/problem-log.js';

/** A file-backed broker; see the module comment. Emits 'error' for problems it cannot return. */
export class FileBroker extends EventEmitter implements Broker, ConsumerHost, RecoveryHost {
  /** Transport name as Celery reports it. */
  readonly transport = 'file';
  /** Everything but quorum queues; claims die with their process, not a connection. */
  readonly capabilities: BrokerCapabilities = {
    priority: 'higher-first',
    messageTtl: true,
    queueExpiry: false,
    exclusiveQueues: true,
    quorumQueues: false,
    deadLetter: true,
    exactDelay: true,
    visibilityTimeoutMs: undefined,
    deliveriesSurviveDisconnect: true,
    fanout: 'queued',
  };
  /** The URL as given (a file URL holds no secret to mask). */
  readonly displayUrl: string;
  /** Paths of the broker directory. */
  readonly layout: Layout;
  /** Owner liveness checks for this directory. */
  readonly liveness: Liveness;
  /** Queue storage (used by consumers). */
  readonly queues: QueueStore;
  private readonly topology: Topology;
  private state: 'new' | 'open' | 'closing' | 'closed' = 'new';
  private readonly consumers = new Map<string, Set<FileConsumer>>();
  /** Moves delayed messages into ready/ when due (for the queues consumed here, and sweeps). */
  private readonly delays = new DelayedMessages(this);
  /** Owned queues declared through this instance: deleted on close (exclusive => per connection). */
  private readonly ownedHere = new Set<string>();
  private readonly publishing = new Set<Promise<void>>();
  private recovering: Promise<void> | undefined;
  private connecting: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private readonly timers: NodeJS.Timeout[] = [];

  /** Repeating trouble (a read-only or full disk) logged once, then summed up. */
  readonly #problems: ProblemLog | undefined;
  readonly idleUnref: boolean;

  /**
   * `logger`: where repeating trouble goes (else it is emitted as 'error' or a process warning).
   * `idleUnref`: consumers' watchers and polls do not keep the process alive (see
   * AmqpBrokerOptions.idleUnref).
   */
  constructor(url: string, options: { logger?: BrokerLogger | undefined; idleUnref?: boolean | undefined } = {}) {
    super();
    this.idleUnref = options.idleUnref === true;
    this.#problems = options.logger ? new ProblemLog(options.logger, { broker: url }) : undefined;
    this.displayUrl = url;
    this.layout = new Layout(rootFromUrl(url));
    this.liveness = new Liveness(this.layout.owners);
    this.queues = new QueueStore(this.layout, this.liveness);
    this.topology = new Topology(this.layout);
  }

  /** Create the directory tree if needed and recover what dead processes held. Idempotent. */
  connect(): Promise<void> {
    if (this.state !== 'new') {
      return this.state === 'open' ? Promise.resolve() : Promise.reject(new BrokerError(`File broker ${this.displayUrl} was closed; make a new one`));
    }
    this.connecting ??= asBrokerError(`opening ${this.displayUrl}`, this.open());
    return this.connecting;
  }

  private async open(): Promise<void> {
    await Promise.all(this.layout.topDirs.map((d) => mkdir(d, { recursive: true })));
    await this.liveness.touchLease();
    if (this.state !== 'new') throw new BrokerError(`File broker ${this.displayUrl} was closed while connecting`);
    this.state = 'open';
    await this.recover();
    if (this.state !== 'open') return; // closed during the first recovery pass
    // unref: a broker with no consumer must not keep the process alive (consumers do).
    this.timers.push(setInterval(() => void this.recover(), RECOVERY_MS).unref());
    if (USES_LEASE) {
      this.timers.push(setInterval(() => void this.liveness.touchLease().catch((e: unknown) => this.reportError(e)), LEASE_TOUCH_MS).unref());
    }
  }

  /**
   * Stop timers and consumers, return unacked deliveries to their queues, wait for publishes in
   * flight, and delete the owned queues declared here (like an AMQP connection closing).
   */
  close(): Promise<void> {
    if (this.state === 'new') this.state = 'closed';
    if (this.state === 'closed') return Promise.resolve();
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    this.state = 'closing';
    for (const t of this.timers.splice(0)) clearInterval(t);
    await this.recovering;
    const all = [...this.consumers.values()].flatMap((s) => [...s]);
    await Promise.all(all.map((c) => c.close()));
    this.delays.stop();
    await Promise.allSettled([...this.publishing]);
    for (const q of this.ownedHere) await this.deleteQueue(q).catch((e: unknown) => this.reportError(e));
    this.#problems?.flush();
    this.state = 'closed';
  }

  /** Declare a queue (idempotent). */
  async declareQueue(name: string, options: QueueOptions = {}): Promise<void> {
    this.ensureOpen();
    if (options.queueType === 'quorum' || options.deliveryLimit !== undefined || options.deadLetterStrategy !== undefined || options.overflow !== undefined) {
      throw new BrokerError(`queue '${name}': the file broker does not support quorum queues (queueType, deliveryLimit, deadLetterStrategy, overflow)`);
    }
    const meta = await asBrokerError(`declaring queue '${name}'`, this.queues.declare(name, options));
    if (meta.owner === SELF_OWNER && isOwnedQueue(meta)) this.ownedHere.add(name);
  }

  /** Declare an exchange (idempotent; a different type is an error). */
  async declareExchange(name: string, type: ExchangeType, options?: { durable?: boolean; autoDelete?: boolean }): Promise<void> {
    this.ensureOpen();
    await asBrokerError(`declaring exchange '${name}'`, this.topology.declareExchange(name, type, options));
  }

  /** Bind a queue to an exchange; both must exist, as in AMQP. */
  async bindQueue(queue: string, exchange: string, routingKey: string): Promise<void> {
    this.ensureOpen();
    if (!(await this.queues.meta(queue, 0))) throw new BrokerError(`Cannot bind queue '${queue}': it does not exist`);
    await asBrokerError(`binding queue '${queue}'`, this.topology.bind(queue, exchange, routingKey));
  }

  /** Delete a queue, its messages (ready and unacked) and its bindings. */
  async deleteQueue(name: string): Promise<void> {
    this.ensureOpen(true);
    this.ownedHere.delete(name);
    await this.queues.delete(name);
    await this.topology.unbindAll(name);
  }

  /** Ready messages in the queue, or undefined if it does not exist. */
  async queueSize(name: string): Promise<number | undefined> {
    this.ensureOpen();
    return this.queues.size(name);
  }

  /** Drop all ready messages (0 for a missing queue). */
  async purgeQueue(name: string): Promise<number> {
    this.ensureOpen();
    return this.queues.purge(name);
  }

  /**
   * Publish; resolves once every copy is in place. Persistent messages (deliveryMode 2) routed to
   * a durable queue are fsynced (file, then the ready directory) first; others are not, as in
   * RabbitMQ where a transient message or a non-durable queue is not written to disk.
   * With delayMs the message waits in the queue's delayed/ directory (not counted by
   * queueSize, not purged) and becomes ready when due, to the millisecond (delay-mover.ts).
   */
  publish(exchange: string, routingKey: string, message: OutgoingMessage, options?: PublishOptions): Promise<void> {
    // A rejection, not a throw: callers chain on the promise (as on the amqp adapter's).
    try {
      this.ensureOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    // Filesystem errors (ENOSPC, EROFS...) reach callers as BrokerError, the port's error.
    const p = asBrokerError(`publish to ${this.displayUrl}`, this.route(exchange, routingKey, { exchange, routingKey, ...message }, options));
    this.publishing.add(p);
    const untrack = (): void => void this.publishing.delete(p);
    p.then(untrack, untrack);
    return p;
  }

  /** Start a consumer; the queue must exist (AMQP: 404 NOT_FOUND). */
  async consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    this.ensureOpen();
    const meta = await this.queues.meta(queue, 0);
    if (!meta) throw new BrokerError(`Cannot consume from queue '${queue}': it does not exist`);
    const consumer = new FileConsumer(this, queue, meta, options, handler);
    let set = this.consumers.get(queue);
    if (!set) this.consumers.set(queue, (set = new Set()));
    set.add(consumer);
    this.delays.attach(queue);
    try {
      await consumer.start();
    } catch (err) {
      this.forget(consumer);
      throw err;
    }
    return consumer;
  }

  /** @internal ConsumerHost: dead-letter a rejected or expired message (AMQP drops `expiration`). */
  async deadLetter(meta: QueueMeta, m: StoredMessage): Promise<void> {
    const { expiration: _dropped, ...properties } = m.properties;
    await this.route(meta.deadLetterExchange ?? '', meta.deadLetterRoutingKey ?? m.routingKey, {
      exchange: meta.deadLetterExchange ?? '',
      routingKey: meta.deadLetterRoutingKey ?? m.routingKey,
      headers: m.headers,
      properties,
      body: m.body,
    });
  }

  /** @internal ConsumerHost/RecoveryHost: a message became ready; wake local consumers now. */
  offer(queue: string, name: string): void {
    for (const c of this.consumers.get(queue) ?? []) c.offer(name);
  }

  /** @internal ConsumerHost: a consumer stopped. */
  forget(consumer: FileConsumer): void {
    const set = this.consumers.get(consumer.queue);
    if (set?.delete(consumer)) this.delays.detach(consumer.queue);
    if (set?.size === 0) this.consumers.delete(consumer.queue);
  }

  /** @internal RecoveryHost: move the due delayed messages of a queue nobody consumes here. */
  async sweepDelayed(queue: string): Promise<void> {
    await this.delays.sweep(queue).catch((e: unknown) => this.reportError(e));
  }

  /** @internal Emit 'error' if someone listens; never throw from a background path. */
  reportError(err: unknown): void {
    if (this.#problems) {
      const code = (err as { code?: unknown })?.code;
      return this.#problems.report(typeof code === 'string' ? `file broker ${code}` : 'file broker error', err);
    }
    const e = err instanceof Error ? err : new BrokerError(String(err));
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else process.emitWarning(e);
  }

  private async route(exchange: string, routingKey: string, m: StoredMessage, options?: PublishOptions): Promise<void> {
    const delayMs = publishDelay(exchange, options);
    const dueAt = delayMs > 0 ? Date.now() + Math.ceil(delayMs) : undefined;
    const names = await this.topology.route(exchange, routingKey);
    const metas = (await Promise.all(names.map((n) => this.queues.meta(n)))).filter((q): q is QueueMeta => q !== undefined);
    if (metas.length === 0) return; // unroutable: dropped, as AMQP does without `mandatory`
    const durable = m.properties.deliveryMode === 2 && metas.some((q) => q.durable);
    const placed = await this.queues.enqueue(metas, encodeMessage(m), m.properties.priority, durable, dueAt);
    for (const p of placed) {
      if (dueAt === undefined) this.offer(p.queue, p.name);
      else this.delays.offer(p.queue, p.name);
    }
  }

  private async recover(): Promise<void> {
    if (!this.recovering) {
      this.recovering = recoverDeadOwners(this)
        .catch((e: unknown) => this.reportError(e))
        .finally(() => (this.recovering = undefined));
    }
    return this.recovering;
  }

  private ensureOpen(closingOk = false): void {
    if (this.state === 'open' || (closingOk && this.state === 'closing')) return;
    throw new BrokerError(`File broker ${this.displayUrl} is ${this.state === 'new' ? 'not connected' : 'closed'}`);
  }
}

/** Filesystem errors (ENOSPC, EROFS, EACCES...) as the port's BrokerError, naming what failed. */
function asBrokerError<T>(what: string, p: Promise<T>): Promise<T> {
  return p.catch((err: unknown) => {
    if (err instanceof BrokerError) throw err;
    const code = (err as { code?: unknown })?.code;
    const hint = code === 'ENOSPC' ? ' (the disk is full)' : code === 'EROFS' ? ' (the file system is read-only)' : '';
    throw new BrokerError(`${what} failed${hint}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  });
}
