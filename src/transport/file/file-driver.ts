/**
 * The file storage driver of the virtual layer: queues, exchanges and messages in a directory
 * that several processes on one machine share. Nothing to install, durable across restarts; the
 * AMQP semantics on top (routing, prefetch, ack / requeue / dead-letter, expiry, the redelivered
 * flag) are the virtual layer's (virtual-broker.ts).
 *
 * How it stays correct across processes, in one paragraph: every state change is a rename(2),
 * link(2) or unlink(2) of one file, which the kernel makes atomic; a message is claimed by
 * renaming it into a per-consumer directory named after the owning process, so exactly one
 * consumer wins and a dead owner's claims can be found and returned. See layout.ts for the
 * directory tree, consumer.ts for claiming and wake-up, recovery.ts for crash recovery,
 * delay-mover.ts for delayed publishes.
 *
 * Filesystem errors (ENOSPC, EROFS, EACCES...) reach callers as BrokerError (CELERYTS_BROKER),
 * naming what failed; background ones are logged once per errno, then summed up (ProblemLog).
 */
import { mkdir } from 'node:fs/promises';
import type { BrokerCapabilities, ExchangeType, QueueOptions } from '../../core/broker.js';
import { BrokerError } from '../../core/errors.js';
import type { Binding, ConsumerSink, DriverConsumer, DriverEvents, StorageDriver, StoredMessage } from '../virtual/driver.js';
import { type BrokerLogger, ProblemLog } from '../virtual/problem-log.js';
import { FileConsumer, type ConsumerHost } from './consumer.js';
import { DelayedMessages } from './delay-mover.js';
import { Layout, rootFromUrl } from './layout.js';
import { encodeMessage } from './message-codec.js';
import { LEASE_TOUCH_MS, Liveness, SELF_OWNER, USES_LEASE } from './owner.js';
import { QueueStore, type QueueMeta } from './queue-store.js';
import { RECOVERY_MS, recoverDeadOwners, type RecoveryHost } from './recovery.js';
import { Topology } from './topology.js';

/** What the driver takes beside the URL. */
export interface FileDriverOptions {
  /** Where repeating trouble goes (else process warnings). */
  logger?: BrokerLogger | undefined;
  /** Consumers' watchers and polls do not keep the process alive (see AmqpBrokerOptions.idleUnref). */
  idleUnref?: boolean | undefined;
}

/** The driver; see the module comment. Usage: `new FileDriver('file://.celeryts/broker')`. */
export class FileDriver implements StorageDriver, ConsumerHost, RecoveryHost {
  readonly transport = 'file';
  readonly fanoutOverPubSub = false;
  /** Everything but quorum queues and queue expiry; claims die with their process, not a connection. */
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
  readonly idleUnref: boolean;
  readonly #queues: QueueStore;
  readonly #topology: Topology;
  readonly #consumers = new Map<string, Set<FileConsumer>>();
  /** Moves delayed messages into ready/ when due (for the queues consumed here, and sweeps). */
  readonly #delays = new DelayedMessages(this);
  readonly #problems: ProblemLog;
  readonly #timers: NodeJS.Timeout[] = [];
  #recovering: Promise<void> | undefined;
  #closed = false;

  constructor(url: string, options: FileDriverOptions = {}) {
    this.displayUrl = url;
    this.idleUnref = options.idleUnref === true;
    this.layout = new Layout(rootFromUrl(url));
    this.liveness = new Liveness(this.layout.owners);
    this.#queues = new QueueStore(this.layout, this.liveness);
    this.#topology = new Topology(this.layout);
    this.#problems = new ProblemLog(options.logger, { broker: url });
  }

  /** Create the directory tree if needed and recover what dead processes held. */
  connect(_events: DriverEvents): Promise<void> {
    // No connection to lose: the events never fire.
    return asBrokerError(`opening ${this.displayUrl}`, this.#open());
  }

  async #open(): Promise<void> {
    await Promise.all(this.layout.topDirs.map((d) => mkdir(d, { recursive: true })));
    await this.liveness.touchLease();
    await this.#recover();
    if (this.#closed) return;
    // unref: a broker with no consumer must not keep the process alive (consumers do).
    this.#timers.push(setInterval(() => void this.#recover(), RECOVERY_MS).unref());
    if (USES_LEASE) {
      this.#timers.push(setInterval(() => void this.liveness.touchLease().catch((e: unknown) => this.reportError(e)), LEASE_TOUCH_MS).unref());
    }
  }

  /** Stop timers and delay movers (the layer closed the consumers first). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers.splice(0)) clearInterval(t);
    await this.#recovering;
    this.#delays.stop();
    this.#problems.flush();
  }

  // ---- queues -------------------------------------------------------------------------

  /** Resolves whether this process owns the queue (see StorageDriver.declareQueue). */
  async declareQueue(name: string, options: QueueOptions): Promise<boolean> {
    const meta = await asBrokerError(`declaring queue '${name}'`, this.#queues.declare(name, options));
    return meta.owner === SELF_OWNER;
  }

  async queueOptions(name: string): Promise<QueueOptions | undefined> {
    const meta = await asBrokerError(`reading queue '${name}'`, this.#queues.meta(name, 0));
    return meta && optionsOf(meta);
  }

  /** Delete a queue, its messages (ready and unacked) and its bindings. */
  async deleteQueue(name: string): Promise<void> {
    await asBrokerError(
      `deleting queue '${name}'`,
      this.#queues.delete(name).then(() => this.#topology.unbindAll(name)),
    );
  }

  size(name: string): Promise<number | undefined> {
    return asBrokerError(`counting queue '${name}'`, this.#queues.size(name));
  }

  purge(name: string): Promise<number> {
    return asBrokerError(`purging queue '${name}'`, this.#queues.purge(name));
  }

  // ---- exchanges and bindings -----------------------------------------------------------

  declareExchange(name: string, type: ExchangeType, options: { durable?: boolean; autoDelete?: boolean }): Promise<void> {
    return asBrokerError(`declaring exchange '${name}'`, this.#topology.declareExchange(name, type, options));
  }

  exchangeType(name: string): Promise<ExchangeType | undefined> {
    return asBrokerError(`reading exchange '${name}'`, this.#topology.type(name));
  }

  bind(queue: string, exchange: string, key: string): Promise<void> {
    return asBrokerError(`binding queue '${queue}'`, this.#topology.bind(queue, exchange, key));
  }

  bindings(exchange: string): Promise<Binding[]> {
    return asBrokerError(`reading the bindings of '${exchange}'`, this.#topology.bindings(exchange));
  }

  // ---- messages -------------------------------------------------------------------------

  /**
   * Write the copies; resolves once every copy is in place. Persistent messages (deliveryMode 2)
   * routed to a durable queue are fsynced (file, then the ready directory) first; others are
   * not, as in RabbitMQ where a transient message or a non-durable queue is not written to disk.
   * With `dueAt` the message waits in the queue's delayed/ directory (not counted by size, not
   * purged) and becomes ready when due, to the millisecond (delay-mover.ts).
   */
  put(queues: readonly string[], message: StoredMessage, dueAt?: number): Promise<void> {
    return asBrokerError(`publish to ${this.displayUrl}`, this.#put(queues, message, dueAt));
  }

  async #put(queues: readonly string[], m: StoredMessage, dueAt: number | undefined): Promise<void> {
    const metas = (await Promise.all(queues.map((n) => this.#queues.meta(n)))).filter((q): q is QueueMeta => q !== undefined);
    if (metas.length === 0) return; // unroutable: dropped, as AMQP does without `mandatory`
    const durable = m.properties.deliveryMode === 2 && metas.some((q) => q.durable);
    const placed = await this.#queues.enqueue(metas, encodeMessage(m), m.properties.priority, durable, dueAt);
    for (const p of placed) {
      if (dueAt === undefined) this.offer(p.queue, p.name);
      else this.#delays.offer(p.queue, p.name);
    }
  }

  async consume(queue: string, options: { noAck: boolean }, sink: ConsumerSink): Promise<DriverConsumer> {
    const consumer = new FileConsumer(this, queue, options.noAck, sink);
    let set = this.#consumers.get(queue);
    if (!set) this.#consumers.set(queue, (set = new Set()));
    set.add(consumer);
    this.#delays.attach(queue);
    try {
      await asBrokerError(`consuming from '${queue}'`, consumer.start());
    } catch (err) {
      this.forget(consumer);
      throw err;
    }
    return consumer;
  }

  // ---- hosts of consumers, recovery and delay movers ----------------------------------------

  /** @internal A message became ready in `queue`; wake this process's consumers of it now. */
  offer(queue: string, name: string): void {
    for (const c of this.#consumers.get(queue) ?? []) c.offer(name);
  }

  /** @internal A consumer stopped. */
  forget(consumer: FileConsumer): void {
    const set = this.#consumers.get(consumer.queue);
    if (set?.delete(consumer)) this.#delays.detach(consumer.queue);
    if (set?.size === 0) this.#consumers.delete(consumer.queue);
  }

  /** @internal RecoveryHost: move the due delayed messages of a queue nobody consumes here. */
  async sweepDelayed(queue: string): Promise<void> {
    await this.#delays.sweep(queue).catch((e: unknown) => this.reportError(e));
  }

  /** @internal Background trouble: logged once per errno (a read-only or full disk), then summed up. */
  reportError(err: unknown): void {
    const code = (err as { code?: unknown } | undefined)?.code;
    this.#problems.report(typeof code === 'string' ? `file broker ${code}` : 'file broker error', err);
  }

  #recover(): Promise<void> {
    this.#recovering ??= recoverDeadOwners(this)
      .catch((e: unknown) => this.reportError(e))
      .finally(() => (this.#recovering = undefined));
    return this.#recovering;
  }
}

/** The declared options a queue's meta.json holds, in the port's shape. */
function optionsOf(meta: QueueMeta): QueueOptions {
  const { v: _v, name: _name, owner: _owner, ...options } = meta;
  return options;
}

/** Filesystem errors (ENOSPC, EROFS, EACCES...) as the port's BrokerError, naming what failed. */
function asBrokerError<T>(what: string, p: Promise<T>): Promise<T> {
  return p.catch((err: unknown) => {
    if (err instanceof BrokerError) throw err;
    const code = (err as { code?: unknown } | undefined)?.code;
    const hint = code === 'ENOSPC' ? ' (the disk is full)' : code === 'EROFS' ? ' (the file system is read-only)' : '';
    throw new BrokerError(`${what} failed${hint}: ${(err as Error | undefined)?.message ?? String(err)}`, { cause: err });
  });
}
