/**
 * Options of the amqp adapter, their defaults, and how they become amqplib's connect arguments.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { SocketOptions } from 'amqplib';
import { DEFAULT_DELAY_TIER_PREFIX } from './delay-tiers.js';
import type { FailoverStrategy } from './failover.js';

/**
 * The logging the adapter needs: a structural subset of pino's Logger, so the app's logger
 * plugs in without this layer importing it.
 */
export interface AmqpLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** TLS settings handed to `tls.connect` for amqps:// URLs (ignored for amqp://). */
export type AmqpTlsOptions = Pick<TlsConnectionOptions, 'ca' | 'cert' | 'key' | 'passphrase' | 'rejectUnauthorized' | 'servername'>;

/** Options of `new AmqpBroker(url, options)`. Every field has a default. */
export interface AmqpBrokerOptions {
  /** TLS material for amqps:// (CA bundle, client certificate and key, verification). */
  tls?: AmqpTlsOptions;
  /** Heartbeat interval proposed to the server, in seconds; 0 disables. Default 30. A `heartbeat` query parameter in the URL wins. */
  heartbeatSeconds?: number;
  /** Give up a single connection attempt (TCP + TLS + AMQP handshake) after this long. Default 10 s. */
  connectTimeoutMs?: number;
  /** First reconnect delay ceiling; doubles per failed attempt. Default 100 ms. */
  reconnectInitialDelayMs?: number;
  /**
   * Largest reconnect delay ceiling. Default 3 s: however long the outage, a worker is back
   * within about 3 s of the broker's return (the fault suite holds it to 5 s).
   */
  reconnectMaxDelayMs?: number;
  /**
   * Failed reconnect attempts after a running connection was lost before the broker gives up
   * (closes for good and emits 'error' with a BrokerGaveUpError). Default 0: never give up.
   */
  reconnectMaxRetries?: number;
  /** Order in which the nodes of a URL list are tried (Celery's broker_failover_strategy). Default 'round-robin'. */
  failoverStrategy?: FailoverStrategy;
  /** Publishes accepted while disconnected before new ones are refused. Default 10,000. */
  maxBufferedPublishes?: number;
  /** How long close() waits for outstanding publisher confirms. Default 5 s. */
  closeTimeoutMs?: number;
  /** Shown by `rabbitmqctl list_connections name` and the management UI. Default 'celeryts'. */
  connectionName?: string;
  /** Where the adapter logs. Default: warnings and errors to stderr, no debug. */
  logger?: AmqpLogger;
  /** Name prefix of the delay tiers (see delay-tiers.ts). Default 'celeryts.delay'. */
  delayTierPrefix?: string;
  /**
   * Connections and reconnect timers do not keep the process alive (createBroker sets it and wraps
   * the adapter in transport/holding-broker.ts, whose pending work holds the process). Default false.
   */
  idleUnref?: boolean;
}

/** Options with their defaults applied. */
export interface ResolvedAmqpOptions {
  readonly tls: AmqpTlsOptions;
  readonly heartbeatSeconds: number;
  readonly connectTimeoutMs: number;
  readonly reconnectInitialDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly reconnectMaxRetries: number;
  readonly failoverStrategy: FailoverStrategy;
  readonly maxBufferedPublishes: number;
  readonly closeTimeoutMs: number;
  readonly connectionName: string;
  readonly idleUnref: boolean;
  readonly logger: AmqpLogger;
  readonly delayTierPrefix: string;
}

/** Warnings and errors to stderr: an adapter must not swallow a crashing consumer silently. */
const stderrLogger: AmqpLogger = {
  debug() {},
  warn(obj, msg) {
    console.warn(`[celeryts amqp] ${msg}`, obj);
  },
  error(obj, msg) {
    console.error(`[celeryts amqp] ${msg}`, obj);
  },
};

/** Apply defaults. */
export function resolveOptions(options: AmqpBrokerOptions = {}): ResolvedAmqpOptions {
  return {
    tls: options.tls ?? {},
    heartbeatSeconds: options.heartbeatSeconds ?? 30,
    connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
    reconnectInitialDelayMs: options.reconnectInitialDelayMs ?? 100,
    reconnectMaxDelayMs: options.reconnectMaxDelayMs ?? 3_000,
    reconnectMaxRetries: options.reconnectMaxRetries ?? 0,
    failoverStrategy: options.failoverStrategy ?? 'round-robin',
    maxBufferedPublishes: options.maxBufferedPublishes ?? 10_000,
    closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
    connectionName: options.connectionName ?? 'celeryts',
    idleUnref: options.idleUnref ?? false,
    logger: options.logger ?? stderrLogger,
    delayTierPrefix: options.delayTierPrefix ?? DEFAULT_DELAY_TIER_PREFIX,
  };
}

/**
 * The URL amqplib connects to. amqplib reads the heartbeat only from the query string of a
 * string URL; passing the URL through (rather than a parsed object) keeps its handling of the
 * vhost path and percent-encoded credentials exactly as documented.
 */
export function connectUrl(url: string, options: ResolvedAmqpOptions): string {
  const parsed = new URL(url);
  if (parsed.searchParams.has('heartbeat')) return url;
  parsed.searchParams.set('heartbeat', String(options.heartbeatSeconds));
  return parsed.toString();
}

/** Socket options for amqplib: TLS passthrough, connect timeout, a connection name. */
export function socketOptions(options: ResolvedAmqpOptions): SocketOptions {
  return {
    ...options.tls,
    timeout: options.connectTimeoutMs,
    noDelay: true,
    clientProperties: { connection_name: options.connectionName },
  };
}
