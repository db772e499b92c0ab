/**
 * The broker port: what the worker and the client need from a message broker, and nothing more.
 * Adapters (transport/amqp; transport/redis and transport/file, which sit on the virtual AMQP
 * layer of transport/virtual) implement it; one conformance suite
 * (test/support/broker-conformance.ts) runs against every adapter.
 *
 * Vocabulary follows AMQP 0-9-1 because Celery's wire model is AMQP's: queues, exchanges
 * (direct, fanout, topic; "" is the default exchange that routes by queue name), bindings,
 * deliveries that are acked, or rejected with or without requeue.
 */

/** Header values as AMQP tables carry them. */
export type HeaderValue = string | number | boolean | null | HeaderValue[] | { [k: string]: HeaderValue } | undefined;
/** A message's application headers. */
export type Headers = Record<string, HeaderValue>;

/** AMQP basic properties, in camelCase as amqplib spells them. */
export interface MessageProperties {
  contentType?: string;
  contentEncoding?: string;
  /** 1 = transient, 2 = persistent. */
  deliveryMode?: 1 | 2;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  /** Per-message TTL in milliseconds, as a decimal string (AMQP's convention). */
  expiration?: string;
  messageId?: string;
}

/** A message to publish. */
export interface OutgoingMessage {
  body: Buffer;
  headers: Headers;
  properties: MessageProperties;
}

/** Options of one publish. */
export interface PublishOptions {
  /**
   * Hold the message back for about this many ms before it reaches the queue (default
   * exchange "" only). The file broker holds it exactly; RabbitMQ parks it in TTL queues of
   * power-of-two durations that dead-letter it back, so it may come back earlier, in steps, and
   * the consumer re-checks its own due time (the task eta). Never later than about a second.
   */
  delayMs?: number;
}

/**
 * A message handed to a consumer. Exactly one of ack/reject may be called, once. For noAck
 * consumers both are no-ops (the broker already forgot the message).
 */
export interface Delivery {
  readonly body: Buffer;
  readonly headers: Headers;
  readonly properties: MessageProperties;
  readonly exchange: string;
  readonly routingKey: string;
  /** True when the broker delivered this message before (to this or another consumer). */
  readonly redelivered: boolean;
  /**
   * True once this delivery can no longer be settled (the channel it came on died): ack and
   * reject are no-ops and the broker will deliver the message again, so do not start work on it.
   */
  readonly stale: boolean;
  /**
   * Acknowledge: the broker forgets the message. Returns undefined when the ack cannot report
   * a failure (AMQP: fire and forget, settled with the channel) or already succeeded; otherwise
   * a promise that resolves once the broker has forgotten the message and rejects (BrokerError)
   * when it could not, in which case the message is still held and comes back. A worker that
   * acks before running (early acks) awaits it: a task whose ack failed must not start.
   */
  ack(): void | Promise<void>;
  /** Give the message back (requeue) or drop/dead-letter it (no requeue). */
  reject(requeue: boolean): void;
  /**
   * Restart this delivery's visibility timeout (brokers with `visibilityTimeoutMs`; absent
   * elsewhere): if its consumer dies now, it comes back no earlier than messages taken before
   * this call. The worker touches a task after its start mark is held, so that after a death
   * the mark is restored no later than the task (start-marks.ts).
   */
  touch?(): Promise<void>;
}

/** Exchange kinds celeryts uses. */
export type ExchangeType = 'direct' | 'fanout' | 'topic';

/** Options for declaring a queue. */
export interface QueueOptions {
  /** Survives a broker restart (task queues). Default true. */
  durable?: boolean;
  /** Deleted when its last consumer goes (reply and pidbox queues). */
  autoDelete?: boolean;
  /** Only this connection may use it; deleted with the connection. */
  exclusive?: boolean;
  /** Deleted after this many ms unused (x-expires). */
  expiresMs?: number;
  /** Messages older than this many ms are dropped (x-message-ttl). */
  messageTtlMs?: number;
  /** x-max-priority. */
  maxPriority?: number;
  /** Queue type where the broker has several (RabbitMQ: classic, quorum). */
  queueType?: 'classic' | 'quorum';
  /** Where rejected (requeue=false) and expired messages go. */
  deadLetterExchange?: string;
  deadLetterRoutingKey?: string;
  /**
   * Quorum queues: deliveries after which the broker itself drops or dead-letters a message
   * that keeps coming back unacked (x-delivery-limit; it counts in the `x-delivery-count` header).
   */
  deliveryLimit?: number;
  /**
   * Quorum queues: 'at-least-once' dead-lettering keeps a message until the dead-letter queue
   * confirmed it (x-dead-letter-strategy; needs overflow 'reject-publish'). Default at most once.
   */
  deadLetterStrategy?: 'at-most-once' | 'at-least-once';
  /** What a full queue does with a new message (x-overflow). */
  overflow?: 'drop-head' | 'reject-publish' | 'reject-publish-dlx';
}

/** Options for a consumer. */
export interface ConsumeOptions {
  /** At most this many unacked deliveries to this consumer at once; 0 = unbounded. */
  prefetch: number;
  /** Deliveries are acked by the broker on send (rpc replies, events). */
  noAck?: boolean;
  /** Consumer-exclusive access to the queue. */
  exclusive?: boolean;
  /**
   * The consumer does not keep the process alive (reply queues of a client: a script must end
   * at its last line once nothing waits; the wait itself holds the process). Default false.
   */
  background?: boolean;
}

/** A running consumer. */
export interface Consumer {
  readonly tag: string;
  /** Stop receiving. Deliveries already handed out stay valid until acked or rejected. */
  cancel(): Promise<void>;
}

/** Called for each delivery; errors thrown here are the adapter's to log, never to lose the message. */
export type DeliveryHandler = (delivery: Delivery) => void | Promise<void>;

/**
 * What an adapter can and cannot do, for callers and the conformance suite to read. An option
 * the broker cannot honour is refused (declareQueue rejects with BrokerError naming it), never
 * silently ignored: callers that pass housekeeping options (TTLs on reply and control queues)
 * drop the ones `supportedQueueOptions` says the broker lacks.
 */
export interface BrokerCapabilities {
  /**
   * How message priority orders deliveries. 'higher-first': AMQP, only in queues declared with
   * maxPriority. 'lower-first': kombu's Redis layout, every queue, 0 is served first, in steps
   * 0-2, 3-5, 6-8, 9 (a Python client on Redis means the same). 'none': priority is ignored.
   */
  readonly priority: 'higher-first' | 'lower-first' | 'none';
  /** Queue messageTtlMs and per-message `expiration` drop (or dead-letter) expired messages. */
  readonly messageTtl: boolean;
  /** Queue expiresMs deletes a queue left unused that long. */
  readonly queueExpiry: boolean;
  /** Exclusive queues (deleted with the connection that declared them, even if its process dies). */
  readonly exclusiveQueues: boolean;
  /** queueType 'quorum' (replicated queues). */
  readonly quorumQueues: boolean;
  /** deadLetterExchange / deadLetterRoutingKey on queues. */
  readonly deadLetter: boolean;
  /** delayMs is held exactly, never returned early (else early in steps, see PublishOptions). */
  readonly exactDelay: boolean;
  /**
   * Milliseconds after which a delivery that its consumer neither acked nor kept alive returns to
   * its queue (Redis: kombu's visibility_timeout), or undefined when deliveries return exactly
   * when their consumer's connection or process ends (AMQP, the file broker).
   */
  readonly visibilityTimeoutMs: number | undefined;
  /**
   * Deliveries stay valid across a lost connection: they are held in the broker, not by the
   * connection, so an ack sent after the reconnect still settles them and 'disconnected' does
   * not void them (Redis). False where a lost connection voids them (AMQP: `stale`).
   */
  readonly deliveriesSurviveDisconnect: boolean;
  /**
   * 'queued': a fanout exchange copies each message into every bound queue, consumed or not
   * (AMQP). 'live': only queues being consumed at publish time get it (Redis publish/subscribe,
   * kombu's layout: remote control and events), and such deliveries need no ack.
   */
  readonly fanout: 'queued' | 'live';
}

/**
 * The subset of `options` this broker can honour: drops housekeeping options it lacks
 * (messageTtlMs, expiresMs, exclusive) so callers that only want them where available can pass
 * them everywhere. Options that change guarantees (quorum, dead-lettering) are kept, so
 * declareQueue refuses them loudly.
 */
export function supportedQueueOptions(broker: Pick<Broker, 'capabilities'>, options: QueueOptions): QueueOptions {
  const caps = broker.capabilities;
  const { messageTtlMs, expiresMs, exclusive, ...rest } = options;
  return {
    ...rest,
    ...(messageTtlMs !== undefined && caps.messageTtl ? { messageTtlMs } : {}),
    ...(expiresMs !== undefined && caps.queueExpiry ? { expiresMs } : {}),
    ...(exclusive !== undefined && caps.exclusiveQueues ? { exclusive } : exclusive ? { autoDelete: true } : {}),
  };
}

/** What a reconnection found. */
export interface ReconnectInfo {
  /** Queues with an expiry (expiresMs) that had expired and were declared again. */
  readonly recreatedQueues: readonly string[];
}

/** Lifecycle events every adapter emits. */
export interface BrokerEvents {
  /**
   * The connection was lost; the adapter is reconnecting. In-flight deliveries are void, unless
   * `capabilities.deliveriesSurviveDisconnect`: then they stay valid and settle after the
   * reconnect (a delivery not settled within the visibility timeout may meanwhile have been
   * given to another consumer: at least once). (One AMQP consumer's channel may also be
   * repaired silently; its deliveries then turn `stale`.)
   */
  disconnected: (err: Error | undefined) => void;
  /**
   * The adapter reconnected, redeclared its topology and resumed its consumers. `info` (AMQP)
   * names the queues declared with an expiry that the server had deleted meanwhile and that were
   * declared anew: whatever was routed to them while they did not exist is gone.
   */
  reconnected: (info?: ReconnectInfo) => void;
  /** A non-recoverable error. The app always listens (an unheard 'error' would crash the process). */
  error: (err: Error) => void;
}

/** The broker port. */
export interface Broker {
  /** Broker URL with any password masked, safe to log. */
  readonly displayUrl: string;
  /** Transport name as Celery reports it ('amqp', 'redis', 'file'). */
  readonly transport: string;
  /** What this adapter can and cannot do. */
  readonly capabilities: BrokerCapabilities;
  connect(): Promise<void>;
  /** Close cleanly: cancel consumers, flush pending acks and publishes. */
  close(): Promise<void>;

  declareQueue(name: string, options?: QueueOptions): Promise<void>;
  declareExchange(name: string, type: ExchangeType, options?: { durable?: boolean; autoDelete?: boolean }): Promise<void>;
  bindQueue(queue: string, exchange: string, routingKey: string): Promise<void>;
  deleteQueue(name: string): Promise<void>;
  /**
   * Optional (AMQP): make a quorum queue reachable by Celery 5.5's native delayed delivery, so
   * countdown tasks a Celery 5.5 client sends through `celery_delayed_27` reach it.
   */
  bindNativeDelayedDelivery?(queue: string): Promise<void>;
  /** Number of ready messages, or undefined if the queue does not exist. */
  queueSize(name: string): Promise<number | undefined>;
  /** Drop every ready message; returns how many. */
  purgeQueue(name: string): Promise<number>;

  /**
   * Publish to an exchange ("" routes by queue name). Resolves once the broker has taken
   * responsibility for the message (publisher confirm, or durable write). Publishes are
   * pipelined: callers may issue many before awaiting any. Across a connection loss an
   * unconfirmed publish may be sent again: consumers must tolerate duplicates.
   */
  publish(exchange: string, routingKey: string, message: OutgoingMessage, options?: PublishOptions): Promise<void>;

  consume(queue: string, options: ConsumeOptions, handler: DeliveryHandler): Promise<Consumer>;

  on<E extends keyof BrokerEvents>(event: E, listener: BrokerEvents[E]): this;
  off<E extends keyof BrokerEvents>(event: E, listener: BrokerEvents[E]): this;
}

/** Makes a broker for a URL; the composition root picks the adapter by scheme. */
export type BrokerFactory = (url: string) => Broker;
