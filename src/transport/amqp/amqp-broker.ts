/**
 * The RabbitMQ adapter of the broker port (src/core/broker.ts), on amqplib.
 *
 * Connection state machine (one AmqpSession per connection; a session is never reused):
 *
 *   idle --connect()--> connecting --ok--> open <------------------------------------+
 *     ^                     |                |                                        |
 *     +------ rejects ------+     connection lost: emit 'disconnected'                |
 *     (BrokerError, masked URL)              v                                        |
 *                                       recovering --attempt ok--> emit 'reconnected' +
 *                                         |   ^
 *                                         |   +-- attempt failed: sleep (full jitter,
 *                                         |       100 ms doubling to 3 s), try again
 *                                         +-- reconnectMaxRetries failed attempts (default:
 *                                             never) --> closed, emit 'error' (BrokerGaveUpError)
 *   any --close()--> closed (no reconnect after that)
 *
 * An attempt (#openSession) is: connect, open the confirm channel, replay every declaration
 * made through this broker, hand the confirm channel to the publisher (waiting publishes go
 * out now that their queues exist), resume every consumer on a fresh channel each. Only then
 * is the state 'open' and 'reconnected' emitted.
 *
 * Failures smaller than the connection are repaired in place, without events:
 * - publish channel closed by the server (404 exchange...) or nacking: see ConfirmPublisher; a new
 *   confirm channel is attached on the same connection.
 * - one consumer's channel closed, or its subscription cancelled by the server: see
 *   ConsumerRepair; only that consumer's in-flight deliveries can be void.
 * Why no 'disconnected' for those: the port says 'disconnected' voids in-flight deliveries,
 *   which is only true of a connection loss.
 *
 * Why not amqplib's own recovery (`connect(url, { recovery })`, connectWithRecoveryPromise):
 * it reconnects the connection only (channels, consumers, topology and unconfirmed publishes
 * stay our job, through `setup`), knows no channel-level failure, retries a refused login
 * forever (no way to tell ACCESS_REFUSED from a network error, so no 'error'), and leaves the
 * new connection without an 'error' listener while `setup` runs, so a socket error there
 * throws out of amqplib's event handler.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Channel } from 'amqplib';
import type {
  Broker,
  BrokerCapabilities,
  BrokerEvents,
  ConsumeOptions,
  Consumer,
  DeliveryHandler,
  ExchangeType,
  OutgoingMessage,
  PublishOptions,
  QueueOptions,
} from '../../core/broker.js';
import { BrokerError, BrokerGaveUpError, ConfigError } from '../../core/errors.js';
import { errorMessage, isPermanentConnectFailure, replyCode, toBrokerError } from './amqp-errors.js';
import { fullJitterDelay } from './backoff.js';
import { NodeCycle } from './failover.js';
import { NativeDelayedDelivery } from './native-delayed-delivery.js';
import { ConfirmPublisher } from './confirm-publisher.js';
import { ConsumerRepair } from './consumer-repair.js';
import { DelayTiers } from './delay-tiers.js';
import { ManagedConsumer, type ConsumerHooks } from './managed-consumer.js';
import { toAssertQueueOptions, toPublishOptions } from './mapping.js';
import { maskUrl, redactPassword, splitUrlList } from '../../util/mask-url.js';
import { connectUrl, resolveOptions, socketOptions, type AmqpBrokerOptions, type ResolvedAmqpOptions } from './options.js';
import { AmqpSession } from './session.js';
import { assertExchange, sessionTopology } from './session-topology.js';
import { TopologyRegistry } from './topology-registry.js';

type State = 'idle' | 'connecting' | 'open' | 'recovering' | 'closed';

/** Attempts at a topology operation whose channel or connection vanished under it. */
const TOPOLOGY_ATTEMPTS = 5;

/** RabbitMQ through amqplib. See the file comment for the recovery design. */
export class AmqpBroker extends EventEmitter implements Broker {
  /** The URL with its password masked. */
  readonly displayUrl: string;
  /** Celery's name for this transport. */
  readonly transport = 'amqp';
  /** RabbitMQ does all the port offers; deliveries die with their channel. */
  readonly capabilities: BrokerCapabilities = {
    priority: 'higher-first',
    messageTtl: true,
    queueExpiry: true,
    exclusiveQueues: true,
    quorumQueues: true,
    deadLetter: true,
    exactDelay: false,
    visibilityTimeoutMs: undefined,
    deliveriesSurviveDisconnect: false,
    fanout: 'queued',
  };
  /** The URL (list) as given: every password in it is redacted from error messages. */
  readonly #url: string;
  /** The nodes of a URL list (one for a single URL), and the order they are tried in. */
  readonly #urls: string[];
  readonly #amqpUrls: string[];
  readonly #nodes: NodeCycle;
  readonly #opts: ResolvedAmqpOptions;
  readonly #registry = new TopologyRegistry();
  readonly #publisher: ConfirmPublisher;
  readonly #delays: DelayTiers;
  readonly #native: NativeDelayedDelivery;
  readonly #consumers = new Map<string, ManagedConsumer>();
  readonly #consumerHooks: ConsumerHooks;
  readonly #tagPrefix = `celeryts.${randomBytes(4).toString('hex')}`;
  #tagCounter = 0;
  #state: State = 'idle';
  /** The installed session: what operations run on (#ready). */
  #session: AmqpSession | undefined;
  /**
   * The newest session, installed or still being set up. In-place repairs (reopen the publish
   * channel, restart one consumer) target it, since they can be triggered during setup.
   */
  #live: AmqpSession | undefined;
  /** The connection attempt under way, so close() can wait for it instead of leaking it. */
  #attempt: Promise<unknown> | undefined;
  #generation = 0;
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #waiters: Array<{ resolve: (s: AmqpSession) => void; reject: (e: Error) => void }> = [];
  #sleep: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  /** `url`: amqp://user:password@host:port/vhost or amqps://...; nothing connects until connect(). */
  constructor(url: string, options: AmqpBrokerOptions = {}) {
    super();
    this.displayUrl = maskUrl(url);
    this.#url = url;
    this.#urls = splitUrlList(url);
    for (const one of this.#urls) {
      let parsed: URL;
      try {
        parsed = new URL(one);
      } catch {
        // Not the TypeError itself: Node puts the whole input, password included, on it.
        throw new ConfigError(`invalid broker URL '${maskUrl(one)}'`);
      }
      if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
        throw new ConfigError(`the amqp transport needs an amqp:// or amqps:// URL, got '${maskUrl(one)}'`);
      }
    }
    this.#opts = resolveOptions(options);
    this.#amqpUrls = this.#urls.map((one) => connectUrl(one, this.#opts));
    this.#nodes = new NodeCycle(this.#urls.length, this.#opts.failoverStrategy);
    this.#publisher = new ConfirmPublisher(this.#opts.maxBufferedPublishes, {
      channelFailed: (err) => this.#reopenPublishChannel(err),
    });
    this.#delays = new DelayTiers(this.#opts.delayTierPrefix, this, (ex, key, m) => this.#publisher.publish(ex, key, m.body, toPublishOptions(m)));
    // Not recorded for replay: the levels are durable, replicated quorum queues that outlive any
    // connection, and redeclaring ~85 objects after every failover (some of whose leaders are
    // being re-elected) would hold the reconnection up for seconds.
    this.#native = new NativeDelayedDelivery(
      {
        declareExchange: (name, type, o) =>
          this.#adminOp(`declare exchange '${name}'`, (ch) => assertExchange(ch, { name, type, options: o })).then(() => undefined),
        declareQueue: (name, o) => this.#adminOp(`declare queue '${name}'`, (ch) => ch.assertQueue(name, toAssertQueueOptions(o))).then(() => undefined),
        bindQueue: (queue, exchange, key) =>
          this.#adminOp(`bind queue '${queue}' to '${exchange}'`, (ch) => ch.bindQueue(queue, exchange, key)).then(() => undefined),
        bindExchange: (destination, source, key) =>
          this.#adminOp(`bind exchange '${destination}' to '${source}'`, (ch) => ch.bindExchange(destination, source, key)).then(() => undefined),
      },
      (ex, key, m) => this.#publisher.publish(ex, key, m.body, toPublishOptions(m)),
    );
    const repair = new ConsumerRepair({
      logger: this.#opts.logger,
      registry: this.#registry,
      initialDelayMs: this.#opts.reconnectInitialDelayMs,
      maxDelayMs: this.#opts.reconnectMaxDelayMs,
      liveSession: () => this.#live,
      drop: (consumer, err) => this.#dropConsumer(consumer, err),
      safeMessage: (err) => this.#safeMessage(err),
    });
    this.#consumerHooks = {
      logger: this.#opts.logger,
      channelLost: (consumer, err, session) => repair.channelLost(consumer, err, session),
      cancelledByBroker: (consumer, session) => repair.cancelledByBroker(consumer, session),
      ended: (consumer) => this.#consumers.delete(consumer.tag),
    };
  }

  // ---- lifecycle -------------------------------------------------------------------------

  /** Connect once; rejects with a BrokerError (masked URL) when the first attempt fails. */
  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(this.#closedError());
    if (this.#state === 'open' || this.#state === 'recovering') return Promise.resolve();
    this.#connecting ??= this.#firstConnect();
    return this.#connecting;
  }

  /**
   * Cancel consumers, send pending acks, wait (bounded) for outstanding confirms, close the
   * connection. Unacked deliveries go back to their queues (the server does that when the
   * channel closes); their later ack() is a no-op. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #firstConnect(): Promise<void> {
    this.#state = 'connecting';
    try {
      // Each node of a URL list once, in the strategy's order, before reporting a failure.
      for (let tried = 1; ; tried++) {
        try {
          await this.#openSession();
          break;
        } catch (err) {
          if (this.#closing || tried >= this.#nodes.size) throw err;
          this.#opts.logger.warn({ node: maskUrl(this.#nodeUrl), err: this.#safeMessage(err) }, 'cannot connect to this broker node; trying the next');
          this.#nodes.next();
        }
      }
    } catch (err) {
      this.#connecting = undefined;
      if (this.#closing) throw this.#closedError();
      this.#state = 'idle';
      const error = toBrokerError('cannot connect to the broker', err, this.#nodeUrl);
      this.#rejectWaiters(error);
      this.#publisher.rejectWaiting(error);
      throw error;
    }
  }

  /** One connection attempt; on success the session is installed and the state is 'open'. Resolves with the expired queues it declared again. */
  #openSession(): Promise<string[]> {
    const attempt = this.#setUpSession();
    this.#attempt = attempt;
    const clear = (): void => {
      if (this.#attempt === attempt) this.#attempt = undefined;
    };
    attempt.then(clear, clear);
    return attempt;
  }

  async #setUpSession(): Promise<string[]> {
    let recreated: string[] = [];
    const generation = ++this.#generation;
    const session = await AmqpSession.open(this.#amqpUrls[this.#nodes.current]!, socketOptions(this.#opts), generation, this.#opts.logger, (err) =>
      this.#onSessionLost(generation, err),
    );
    if (this.#opts.idleUnref) session.unref();
    this.#live = session;
    try {
      const confirmChannel = await session.openConfirmChannel();
      recreated = await this.#expiredQueues(session);
      await this.#registry.replay(sessionTopology(session), (what, err) => {
        if (!session.alive) throw err;
        this.#opts.logger.warn({ err: this.#safeMessage(err) }, `could not declare ${what} again after reconnecting; skipped`);
      });
      if (this.#closing) throw this.#closedError();
      const backlog = this.#publisher.pending;
      const resentBefore = this.#publisher.resent;
      this.#publisher.attach(confirmChannel);
      // resent: written before the loss and written again now, so possible duplicates (under
      // backpressure, more follow on 'drain' and are not counted here).
      const resent = this.#publisher.resent - resentBefore;
      if (backlog > 0) this.#opts.logger.debug({ publishes: backlog, resent }, 'sending publishes held or unconfirmed while disconnected');
      const consumers = [...this.#consumers.values()].filter((c) => c.established && !c.ended);
      await Promise.all(
        consumers.map((c) =>
          c.start(session).catch((err: unknown) => {
            if (session.alive && !c.ended) this.#dropConsumer(c, err);
          }),
        ),
      );
      if (this.#closing) throw this.#closedError();
      if (!session.alive) throw new BrokerError('the connection was lost while restoring topology and consumers');
    } catch (err) {
      if (this.#live === session) this.#live = undefined;
      await session.close();
      throw err;
    }
    this.#session = session;
    this.#state = 'open';
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.resolve(session);
    return recreated;
  }

  /**
   * Queues declared with an expiry (and so meant to outlive a lost connection) that no longer
   * exist: the replay that follows declares them again, but what was routed to them meanwhile is
   * gone, and their owners (the rpc backend) must hear it. A passive declare each, on a channel
   * of its own since a missing queue closes the channel with 404.
   */
  async #expiredQueues(session: AmqpSession): Promise<string[]> {
    const candidates = this.#registry.queuesWithExpiry();
    const missing = await Promise.all(
      candidates.map((name) =>
        session
          .throwaway((ch) => ch.checkQueue(name))
          .then(
            () => undefined,
            (err: unknown) => {
              if (replyCode(err) === 404) return name;
              throw err;
            },
          ),
      ),
    );
    return missing.filter((n): n is string => n !== undefined);
  }

  #onSessionLost(generation: number, err: Error | undefined): void {
    // A session still being set up fails its own attempt; only the installed one triggers recovery.
    if (this.#session?.generation !== generation || this.#closing) return;
    this.#session = undefined;
    if (this.#live?.generation === generation) this.#live = undefined;
    void this.#recover(err);
  }

  async #recover(err: Error | undefined): Promise<void> {
    this.#state = 'recovering';
    const lost = this.#nodeUrl;
    const cause = err ? toBrokerError('lost the broker connection', err, lost) : undefined;
    this.#opts.logger.warn({ err: cause?.message }, 'broker connection lost; reconnecting');
    this.#emitSafely('disconnected', cause);
    const max = this.#opts.reconnectMaxRetries;
    // With a URL list the node that failed is probably down: start with the next one, and move
    // on after every failed attempt. The backoff grows per pass over the nodes, not per attempt,
    // so a dead node costs one short attempt, not a doubled wait.
    const nodes = this.#nodes.size;
    if (nodes > 1) this.#nodes.next();
    for (let attempt = 0; ; attempt++) {
      await this.#pause(fullJitterDelay(Math.floor(attempt / nodes), this.#opts.reconnectInitialDelayMs, this.#opts.reconnectMaxDelayMs));
      if (this.#closing) return;
      let recreatedQueues: string[];
      try {
        recreatedQueues = await this.#openSession();
      } catch (e) {
        if (this.#closing) return;
        const failed = attempt + 1;
        if (max > 0 && failed >= max) {
          const last = toBrokerError('last attempt', e, this.#nodeUrl);
          this.#fatal(
            new BrokerGaveUpError(failed, `gave up reconnecting to the broker (${this.displayUrl}) after ${failed} failed attempts; ${last.message}`),
          );
          return;
        }
        // A refusal (permissions cleared, a vhost being recreated, credentials rotated) is retried
        // too: it was accepted before, so an operator may well be fixing it right now, and a worker
        // that stops for good leaves its queues without consumers until someone notices.
        const refused = isPermanentConnectFailure(e);
        this.#opts.logger.warn(
          { attempt: failed, maxRetries: max || null, node: maskUrl(this.#nodeUrl), err: this.#safeMessage(e) },
          refused ? 'the broker refused the reconnection; retrying' : 'reconnect attempt failed; retrying',
        );
        if (nodes > 1) this.#nodes.next();
        continue;
      }
      const node = maskUrl(this.#nodeUrl);
      if (nodes > 1 && this.#nodeUrl !== lost) {
        this.#opts.logger.warn({ attempts: attempt + 1, node, from: maskUrl(lost) }, `broker connection restored on another node: ${node}`);
      } else {
        this.#opts.logger.warn({ attempts: attempt + 1, node }, 'broker connection restored');
      }
      if (recreatedQueues.length > 0) this.#opts.logger.warn({ queues: recreatedQueues }, 'queues had expired while disconnected and were declared anew');
      this.#emitSafely('reconnected', { recreatedQueues });
      return;
    }
  }

  async #close(): Promise<void> {
    const session = this.#session;
    this.#state = 'closed';
    this.#sleep?.wake(); // stop a reconnect backoff
    const closed = this.#closedError();
    this.#rejectWaiters(closed);
    // An attempt under way sees #closing and closes its own connection; wait for that.
    await this.#attempt?.catch(() => {});
    const consumers = [...this.#consumers.values()];
    this.#consumers.clear();
    if (session?.alive) {
      // Stop deliveries first, so nothing new arrives while confirms drain.
      await Promise.all(consumers.map((c) => c.stopForClose()));
      await this.#publisher.whenIdle(this.#opts.closeTimeoutMs);
    }
    this.#publisher.close(new BrokerError(`the broker (${this.displayUrl}) was closed before the publish was confirmed`));
    for (const c of consumers) c.flushAcks(); // acks issued while we waited
    this.#session = undefined;
    this.#live = undefined;
    await session?.close();
    for (const c of consumers) c.kill();
  }

  /** A non-recoverable failure: stop everything and report it once. */
  #fatal(err: BrokerGaveUpError): void {
    this.#state = 'closed';
    this.#closing ??= Promise.resolve();
    this.#rejectWaiters(err);
    this.#publisher.close(err);
    for (const c of this.#consumers.values()) c.kill();
    this.#consumers.clear();
    this.#opts.logger.error({ err: err.message }, 'broker connection failed for good');
    // On the next tick, so an unhandled 'error' (Node's convention: it throws) surfaces as
    // an uncaught exception rather than corrupting the state machine mid-way.
    process.nextTick(() => this.emit('error', err));
  }

  // ---- topology --------------------------------------------------------------------------

  /** Declare a queue (durable unless told otherwise); remembered for redeclaration after a reconnect. */
  async declareQueue(name: string, options: QueueOptions = {}): Promise<void> {
    await this.#adminOp(`declare queue '${name}'`, (ch) => ch.assertQueue(name, toAssertQueueOptions(options)));
    // A server-named queue ('') cannot be declared "again": the server would name a new one.
    if (name !== '') this.#registry.recordQueue(name, options);
  }

  /** Declare an exchange (durable unless told otherwise); remembered for redeclaration. */
  async declareExchange(name: string, type: ExchangeType, options: { durable?: boolean; autoDelete?: boolean } = {}): Promise<void> {
    if (name === '') return; // the default exchange always exists and may not be declared
    const declaration = { name, type, options };
    await this.#adminOp(`declare exchange '${name}'`, (ch) => assertExchange(ch, declaration));
    this.#registry.recordExchange(declaration);
  }

  /** Bind; remembered for rebinding. Binding to the default exchange is implicit, so a no-op. */
  async bindQueue(queue: string, exchange: string, routingKey: string): Promise<void> {
    if (exchange === '') return;
    await this.#adminOp(`bind queue '${queue}' to exchange '${exchange}'`, (ch) => ch.bindQueue(queue, exchange, routingKey));
    this.#registry.recordBinding({ queue, exchange, routingKey });
  }

  /**
   * Make a quorum queue reachable by Celery 5.5's native delayed delivery (see
   * native-delayed-delivery.ts): the celery_delayed_* levels are declared once per broker, then
   * the queue is bound to celery_delayed_delivery. Delayed publishes to quorum queues go that way.
   */
  bindNativeDelayedDelivery(queue: string): Promise<void> {
    return this.#native.bind(queue);
  }

  /** Delete a queue; our consumers of it end quietly (the server cancels them). */
  async deleteQueue(name: string): Promise<void> {
    this.#registry.forgetQueue(name);
    for (const c of this.#consumers.values()) if (c.queue === name) c.queueDeletedHere = true;
    await this.#adminOp(`delete queue '${name}'`, (ch) => ch.deleteQueue(name));
  }

  /** Ready messages, or undefined when the queue does not exist. */
  async queueSize(name: string): Promise<number | undefined> {
    // A passive declare of a missing queue is answered by closing the channel (404), so it
    // runs on a channel of its own, not on the shared admin channel.
    const reply = await this.#withSession(`check queue '${name}'`, (s) => s.throwaway((ch) => ch.checkQueue(name)), [404]);
    return reply?.messageCount;
  }

  /** Drop the ready messages; how many (0 for a missing queue, like the file broker). */
  async purgeQueue(name: string): Promise<number> {
    const reply = await this.#withSession(`purge queue '${name}'`, (s) => s.throwaway((ch) => ch.purgeQueue(name)), [404]);
    return reply?.messageCount ?? 0;
  }

  // ---- messages --------------------------------------------------------------------------

  /** Publish; resolves on the broker's confirm. Many may be in flight (see ConfirmPublisher). delayMs: see DelayTiers. */
  publish(exchange: string, routingKey: string, message: OutgoingMessage, options?: PublishOptions): Promise<void> {
    if (this.#state === 'idle') return Promise.reject(this.#notConnectedError());
    if (this.#state === 'closed') return Promise.reject(this.#closedError());
    if (options?.delayMs !== undefined) {
      // A quorum queue's delays go through quorum levels too (Celery 5.5's topology): a classic
      // tier queue would lose parked tasks with its node on a cluster.
      if (exchange === '' && this.#registry.queueOptions(routingKey)?.queueType === 'quorum') return this.#native.publish(routingKey, message, options.delayMs);
      return this.#delays.publish(exchange, routingKey, message, options);
    }
    return this.#publisher.publish(exchange, routingKey, message.body, toPublishOptions(message));
  }

  /** Subscribe on a channel of its own; resolves once the server confirmed the subscription. */
  async consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer> {
    const tag = `${this.#tagPrefix}.${++this.#tagCounter}`;
    const consumer = new ManagedConsumer(tag, queue, options, handler, this.#consumerHooks);
    this.#consumers.set(tag, consumer);
    for (;;) {
      let session: AmqpSession;
      try {
        session = await this.#ready();
      } catch (err) {
        this.#consumers.delete(tag);
        throw err;
      }
      try {
        await consumer.start(session);
        return consumer;
      } catch (err) {
        if (consumer.ended) return consumer; // cancelled while subscribing
        // The connection died under us: subscribe on the next one.
        if (!session.alive && !this.#closing) continue;
        this.#consumers.delete(tag);
        throw toBrokerError(`cannot consume from queue '${queue}'`, err, this.#nodeUrl);
      }
    }
  }

  // ---- typed events ----------------------------------------------------------------------

  /** Listen to 'disconnected', 'reconnected' or 'error'. */
  override on<E extends keyof BrokerEvents>(event: E, listener: BrokerEvents[E]): this {
    return super.on(event, listener);
  }

  /** Stop listening. */
  override off<E extends keyof BrokerEvents>(event: E, listener: BrokerEvents[E]): this {
    return super.off(event, listener);
  }

  // ---- internals -------------------------------------------------------------------------

  /**
   * Run a topology operation on the admin channel of the current connection, waiting for a
   * reconnection if needed. An error with an AMQP reply code is the server refusing this very
   * operation: reported. An error without one means the channel or connection vanished under
   * it (another operation's refusal closed the admin channel, or the connection dropped): the
   * operation runs again, which is safe because declarations are idempotent.
   */
  #adminOp<T>(what: string, op: (ch: Channel) => Promise<T>): Promise<T> {
    return this.#withSession(what, (s) => s.admin(op), []) as Promise<T>;
  }

  async #withSession<T>(what: string, op: (s: AmqpSession) => Promise<T>, absentCodes: number[]): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      const session = await this.#ready();
      try {
        return await op(session);
      } catch (err) {
        const code = replyCode(err);
        if (code !== undefined && absentCodes.includes(code)) return undefined;
        if (code !== undefined || this.#closing || attempt >= TOPOLOGY_ATTEMPTS) {
          throw toBrokerError(`cannot ${what}`, err, this.#nodeUrl);
        }
      }
    }
  }

  /** The open session, waiting through a (re)connection; rejects when closed or never connected. */
  #ready(): Promise<AmqpSession> {
    if (this.#state === 'open' && this.#session?.alive) return Promise.resolve(this.#session);
    if (this.#state === 'closed' || this.#closing) return Promise.reject(this.#closedError());
    if (this.#state === 'idle') return Promise.reject(this.#notConnectedError());
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  #rejectWaiters(err: Error): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(err);
  }

  /** The publish channel was closed by the server; open another on the same connection. */
  #reopenPublishChannel(err: Error): void {
    this.#opts.logger.warn({ err: this.#safeMessage(err) }, 'the publish channel failed (closed by the broker, or nacking); opening another');
    const session = this.#live;
    if (!session?.alive || this.#closing) return; // a reconnection attaches a new one
    session.openConfirmChannel().then(
      (channel) => {
        if (this.#live === session && session.alive && !this.#closing) this.#publisher.attach(channel);
        else channel.close().catch(() => {});
      },
      (e: unknown) => {
        // Cannot even open a channel: the connection is unusable, start over on a new one.
        if (session.alive) session.abandon(e instanceof Error ? e : new Error(String(e)));
      },
    );
  }

  /** Give up on one consumer: it is gone for good, which the application must hear about. */
  #dropConsumer(consumer: ManagedConsumer, err: unknown): void {
    consumer.kill();
    this.#consumers.delete(consumer.tag);
    const error = err instanceof BrokerError ? err : toBrokerError(`consumer of queue '${consumer.queue}' stopped`, err, this.#nodeUrl);
    this.#opts.logger.error({ queue: consumer.queue, consumerTag: consumer.tag, err: error.message }, 'consumer stopped for good');
    process.nextTick(() => this.emit('error', error));
  }

  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleep = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      // An idle client waiting to reconnect lets a script end; its consumers hold the process.
      if (this.#opts.idleUnref) timer.unref();
      this.#sleep = { timer, wake };
    });
  }

  /** Emit a lifecycle event; a throwing listener must not break the recovery loop. */
  #emitSafely<E extends 'disconnected' | 'reconnected'>(event: E, ...args: Parameters<BrokerEvents[E]>): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      this.#opts.logger.error({ err, event }, 'a broker event listener threw');
    }
  }

  /** The node in use (or being tried). */
  get #nodeUrl(): string {
    return this.#urls[this.#nodes.current]!;
  }

  /** The broker node in use now, password masked (of a URL list, the one connected to). */
  get nodeUrl(): string {
    return maskUrl(this.#nodeUrl);
  }

  #safeMessage(err: unknown): string {
    return redactPassword(errorMessage(err), this.#url);
  }

  #closedError(): BrokerError {
    return new BrokerError(`the broker (${this.displayUrl}) is closed`);
  }

  #notConnectedError(): BrokerError {
    return new BrokerError(`the broker (${this.displayUrl}) is not connected: call connect() first`);
  }
}
