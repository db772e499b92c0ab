/**
 * The configuration: one validated object built from defaults, the config file, environment
 * and flags (later wins). Keys are camelCase versions of Celery's settings.
 */
import { availableParallelism } from 'node:os';
import { ConfigError } from '../core/errors.js';
import { closest } from '../core/registry.js';
import type { QueueOptions } from '../core/broker.js';
import type { BrokerTlsFiles } from '../transport/create-broker.js';
import type { BeatEntry } from '../beat/entry.js';
import type { RedisTransportOptions } from '../transport/redis/redis-driver.js';
import { maskUrl, maskUrlsIn, splitUrlList } from '../util/mask-url.js';
import { FAILOVER_STRATEGIES, type FailoverStrategy } from '../transport/amqp/failover.js';

/** Log levels accepted by --loglevel and `logLevel`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of LOG_LEVELS. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The `dashboard` key: settings of `celeryts dashboard` (flags and env win). */
export interface DashboardSettings {
  /** Port, default 5555. */
  port?: number;
  /** Bind address, default 127.0.0.1; any other needs basicAuth or token. */
  address?: string;
  /** Accepted `user:password` pairs for basic auth. */
  basicAuth?: string[];
  /** Accepted bearer token. */
  token?: string;
  /** Hide and refuse every action. */
  readOnly?: boolean;
  /** Tasks kept in memory. Default 10,000. */
  maxTasks?: number;
  /** Ask workers to send task events (enable_events). Default true. */
  enableEvents?: boolean;
}

const DASHBOARD_KEYS: Record<keyof DashboardSettings, (v: unknown) => boolean> = {
  port: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535,
  address: (v) => typeof v === 'string' && v.length > 0,
  basicAuth: (v) => Array.isArray(v) && v.every((x) => typeof x === 'string' && /^[^:]+:.+$/.test(x)),
  token: (v) => typeof v === 'string' && v.length > 0,
  readOnly: (v) => typeof v === 'boolean',
  maxTasks: (v) => Number.isInteger(v) && (v as number) > 0,
  enableEvents: (v) => typeof v === 'boolean',
};

/** Celery's level names that pino spells otherwise. */
const LEVEL_ALIASES: Record<string, LogLevel> = { warning: 'warn', critical: 'fatal', notset: 'trace' };

/**
 * A log level as a user may write it: pino's names or Celery's (`WARNING`, `CRITICAL`), in any
 * case. Undefined when it is neither.
 */
export function normalizeLogLevel(raw: unknown): LogLevel | undefined {
  if (typeof raw !== 'string') return undefined;
  const lower = raw.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(lower)) return lower as LogLevel;
  return LEVEL_ALIASES[lower];
}

/** AMQP's prefetch count is a 16-bit field: a larger prefetch cannot be asked for. */
export const MAX_PREFETCH = 65535;

/** What a config file may set. Every key is optional. */
export interface UserConfig {
  /** Folder task names are derived from (default: the config file's folder). */
  root?: string;
  /** Task modules to load: dotted (`proj.tasks`) or paths relative to root. */
  imports?: string[];
  /**
   * Broker URL: amqp://, amqps://, redis://, rediss://, sentinel:// or file://DIR (default
   * file://.celeryts beside the config). RabbitMQ nodes of a cluster: a list, as an array or as
   * Celery writes it (`amqp://h1//;amqp://h2//`); see brokerFailoverStrategy.
   */
  brokerUrl?: string | string[];
  /** Order the nodes of a broker URL list are tried in (broker_failover_strategy): 'round-robin' (default) or 'shuffle'. */
  brokerFailoverStrategy?: FailoverStrategy;
  /**
   * Where results go: 'rpc://' (default: back to the caller as messages, read once, by the
   * sender), 'redis://[:password@]host[:port][/db]' (also rediss://, redis+socket://,
   * sentinel://: stored by task id, read by any process until they expire) or 'none'.
   */
  resultBackend?: string;
  /** Seconds a stored result lives (Redis backend; Celery's result_expires). 0 = forever. Default 86400 (1 day). */
  resultExpires?: number;
  /** Also store the task name, args, kwargs, worker, retries and queue with a result (Celery's result_extended). Default false. */
  resultExtended?: boolean;
  /**
   * Seconds an rpc reply queue outlives its client's connection (x-expires): results sent while
   * the client is disconnected wait this long. Default 3600. A client that exits cleanly deletes it.
   */
  rpcReplyQueueExpires?: number;
  /** Queue tasks go to when neither the call nor the task names one. Default 'celery'. */
  defaultQueue?: string;
  /** Per-queue declaration options (type, max priority, dead-lettering). */
  queues?: Record<string, QueueOptions>;
  /**
   * Type of every task queue the app declares (Celery 5.5's task_default_queue_type): 'classic'
   * (default) or 'quorum' (RabbitMQ's replicated queues; a queue's own `queueType` wins).
   */
  defaultQueueType?: 'classic' | 'quorum';
  /** Tasks run at once by one worker. Default: number of CPUs. */
  concurrency?: number;
  /** prefetch = concurrency x prefetchMultiplier. Default 4. */
  prefetchMultiplier?: number;
  /**
   * Grow and shrink the async pool with load between `[max, min]` tasks at once (Celery's
   * `--autoscale MAX,MIN`); prefetch is then max x prefetchMultiplier. Default: off.
   */
  autoscale?: [number, number];
  /** Seconds without growing before autoscale shrinks the pool (Celery's AUTOSCALE_KEEPALIVE). Default 30. */
  autoscaleKeepalive?: number;
  /** Allow the `pool_restart` control command (Celery's worker_pool_restarts): threads pool only. Default false. */
  workerPoolRestarts?: boolean;
  /** Ack after the task returns (default false: ack before it starts). */
  acksLate?: boolean;
  /** Send no results unless a task or call asks (CELERY_IGNORE_RESULT). */
  ignoreResult?: boolean;
  /** Turn off every rate limit (CELERY_DISABLE_RATE_LIMITS). */
  disableRateLimits?: boolean;
  /** Log level: pino's names or Celery's (`WARNING`, `CRITICAL`), any case. Default 'info'. */
  logLevel?: LogLevel | Uppercase<LogLevel> | 'warning' | 'WARNING' | 'critical' | 'CRITICAL';
  /** Write logs to this file (appended) instead of stderr (`--logfile`). */
  logFile?: string;
  /** Retry the broker connection when it is down at start (broker_connection_retry_on_startup). Default true. */
  brokerConnectionRetryOnStartup?: boolean;
  /** How many times to retry the broker connection at start before giving up; 0 retries forever (broker_connection_max_retries). Default 100. */
  brokerConnectionMaxRetries?: number;
  /**
   * Once running, how many failed reconnect attempts (backoff capped at 3 s) before the broker
   * connection gives up: a worker then exits 1, a client's pending waits reject with
   * CELERYTS_BROKER_GAVE_UP. Default 0: retry forever. (Celery applies broker_connection_max_retries,
   * 100, here too; celeryts keeps that key for start-up only: see README "Broker connection".) amqp.
   */
  brokerReconnectMaxRetries?: number;
  /** Worker node name; %h = host name, %n = short host, %d = domain. Default 'celery@%h'. */
  workerName?: string;
  /** Publish Celery's monitoring events on `celeryev` (worker_send_task_events, `-E`). Default false. */
  sendEvents?: boolean;
  /** Where task bodies run: 'async' (this event loop, default) or 'threads' (worker_threads). */
  pool?: 'async' | 'threads';
  /** TLS for amqps:// brokers: { caFile, certFile, keyFile, passphrase, rejectUnauthorized, servername }. */
  brokerTls?: BrokerTlsFiles;
  /** AMQP heartbeat in seconds (default 30; 0 disables). */
  brokerHeartbeat?: number;
  /**
   * Redis broker options (Celery's broker_transport_options): `visibilityTimeout` seconds
   * (default 3600), `globalKeyprefix`, `masterName` (sentinel).
   */
  brokerTransportOptions?: RedisTransportOptions;
  /** Hard time limit in seconds for every task (task_time_limit); tasks and messages may set their own. */
  taskTimeLimit?: number;
  /** Soft time limit in seconds (task_soft_time_limit): the task's AbortSignal fires. */
  taskSoftTimeLimit?: number;
  /** Task messages with a bigger body are rejected unparsed (dead-lettered). Default 10 MiB. */
  maxMessageBytes?: number;
  /** An acks-late message redelivered more often than this is dead-lettered (poison task guard). Default 5. */
  maxRedeliveries?: number;
  /**
   * Queue that refused task messages go to (poison tasks over maxRedeliveries, unknown tasks,
   * malformed or oversized messages), declared by the worker, read with `celeryts dlq`. A queue
   * configured with its own `deadLetterExchange` keeps that instead. null: reject and drop, as
   * Celery does. Default 'celeryts.dlq'.
   */
  deadLetterQueue?: string | null;
  /** Answer remote control (inspect, control) at all (Celery's worker_enable_remote_control). Default true. */
  workerEnableRemoteControl?: boolean;
  /** Control commands this worker answers; others are refused and logged. Default: all of them. */
  controlCommands?: string[];
  /**
   * Shared secret for signed remote control: workers refuse (and log) requests without a valid
   * HMAC-SHA256 signature; celeryts clients sign theirs. Default: none (unsigned, as Celery).
   */
  controlSecret?: string;
  /** Seconds a signed control request stays valid (its replay window). Default 60. */
  controlSignatureWindow?: number;
  /**
   * Cap, in MiB, on V8's young-generation semi-spaces in the worker process and each task
   * thread (what `--max-semi-space-size` sets at start-up). Default 4; 0 leaves V8's own
   * growth to 16. NODE_OPTIONS flags that size the young generation take precedence.
   */
  workerMaxSemiSpaceMb?: number;
  /**
   * How far, in percent, V8 lets the worker's old generation grow past what the last full GC
   * kept before it collects again (`--heap-growing-percent`). Default 50; 0 leaves V8's own
   * factor (up to 300 %: a draining worker holds up to 4 x its live heap). A NODE_OPTIONS
   * `--heap-growing-percent` takes precedence.
   */
  workerHeapGrowingPercent?: number;
  /** Periodic tasks beat sends (beat_schedule): `{ name: { task, schedule, args, kwargs, options } }`. */
  beatSchedule?: Record<string, BeatEntry>;
  /** IANA time zone crontabs are read in unless they name their own (Celery's `timezone`). Default 'UTC'. */
  timezone?: string;
  /**
   * Seconds a tick missed while no beat ran may be late and still be sent (once) when beat
   * starts (Celery 5.3's beat_cron_starting_deadline, for every kind of schedule). Default: no limit.
   */
  beatStartingDeadline?: number | null;
  /** Where beat keeps its lock, state and runtime entries: file://, amqp(s):// or redis(s):// (default: the broker URL). */
  beatStoreUrl?: string;
  /** Prefix of the names beat uses in its store (queues, keys, folder). Default 'celeryts.beat'. */
  beatKeyPrefix?: string;
  /**
   * Seconds: the Redis lock's lease (a dead leader is replaced within this); on every store a
   * standby tries to take over, and the leader refreshes, every fifth of it. Default 5.
   */
  beatLockTimeout?: number;
  /** `celeryts dashboard` settings: { port, address, basicAuth, token, readOnly, maxTasks, enableEvents }. */
  dashboard?: DashboardSettings;
}

/** The resolved config every layer reads. */
export interface Config {
  root: string;
  imports: string[];
  /** One URL, or a list joined with ';' (Celery's form). */
  brokerUrl: string;
  brokerFailoverStrategy: FailoverStrategy;
  /** 'rpc', 'none', or a Redis URL (as given: mask it before showing it). */
  resultBackend: string;
  resultExpires: number;
  resultExtended: boolean;
  rpcReplyQueueExpires: number;
  defaultQueue: string;
  queues: Record<string, QueueOptions>;
  defaultQueueType: 'classic' | 'quorum';
  concurrency: number;
  prefetchMultiplier: number;
  autoscale: [number, number] | null;
  autoscaleKeepalive: number;
  workerPoolRestarts: boolean;
  acksLate: boolean;
  ignoreResult: boolean;
  disableRateLimits: boolean;
  logLevel: LogLevel;
  logFile: string | undefined;
  brokerConnectionRetryOnStartup: boolean;
  brokerConnectionMaxRetries: number;
  brokerReconnectMaxRetries: number;
  workerName: string;
  sendEvents: boolean;
  pool: 'async' | 'threads';
  brokerTls: BrokerTlsFiles | undefined;
  brokerHeartbeat: number | undefined;
  brokerTransportOptions: RedisTransportOptions;
  taskTimeLimit: number | null;
  taskSoftTimeLimit: number | null;
  maxMessageBytes: number;
  maxRedeliveries: number;
  deadLetterQueue: string | null;
  workerEnableRemoteControl: boolean;
  controlCommands: string[] | undefined;
  controlSecret: string | undefined;
  controlSignatureWindow: number;
  workerMaxSemiSpaceMb: number;
  workerHeapGrowingPercent: number;
  beatSchedule: Record<string, BeatEntry>;
  timezone: string;
  beatStartingDeadline: number | null;
  beatStoreUrl: string | undefined;
  beatKeyPrefix: string;
  beatLockTimeout: number;
  dashboard: DashboardSettings;
  /** Where the config came from, for messages; undefined when no file was found. */
  configFile: string | undefined;
}

type Check = (value: unknown) => string | undefined;
const isBool: Check = (v) => (typeof v === 'boolean' ? undefined : 'must be true or false');
const isString: Check = (v) => (typeof v === 'string' && v.length > 0 ? undefined : 'must be a non-empty string');
const isPosInt: Check = (v) => (Number.isInteger(v) && (v as number) > 0 ? undefined : 'must be a whole number above 0');
const isNonNegInt: Check = (v) => (Number.isInteger(v) && (v as number) >= 0 ? undefined : 'must be a whole number, 0 or more');
const isStringList: Check = (v) => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? undefined : 'must be a list of strings');
const isObject: Check = (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? undefined : 'must be an object');

const TRANSPORT_OPTIONS: Record<keyof RedisTransportOptions, Check> = {
  visibilityTimeout: (v) => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? undefined : 'must be a number of seconds above 0'),
  globalKeyprefix: (v) => (typeof v === 'string' ? undefined : 'must be a string'),
  masterName: isString,
};
function checkTransportOptions(v: unknown): string | undefined {
  const notObject = isObject(v);
  if (notObject) return notObject;
  for (const [key, value] of Object.entries(v as object)) {
    const check = TRANSPORT_OPTIONS[key as keyof RedisTransportOptions];
    if (!check) return `has an unknown option '${key}' (known: ${Object.keys(TRANSPORT_OPTIONS).join(', ')})`;
    const problem = check(value);
    if (problem) return `.${key} ${problem}`;
  }
  return undefined;
}

const BROKER_SCHEME = /^(amqps?|file|rediss?|redis\+socket|socket|sentinel):\/\//;

/** One URL, a `;`-separated list or an array of URLs; a list is for RabbitMQ nodes only. */
function checkBrokerUrl(v: unknown): string | undefined {
  const urls = Array.isArray(v) ? v : typeof v === 'string' ? splitUrlList(v) : undefined;
  if (!urls || urls.length === 0 || !urls.every((u) => typeof u === 'string' && u.length > 0)) {
    return 'must be a non-empty string or a non-empty list of strings';
  }
  if (!urls.every((u) => BROKER_SCHEME.test(u))) return 'must start with amqp://, amqps://, redis://, rediss://, sentinel:// or file://';
  if (urls.length > 1 && !urls.every((u) => /^amqps?:\/\//.test(u))) return 'may list several URLs only for RabbitMQ (amqp:// or amqps://) cluster nodes';
  return undefined;
}

/** Validators per key: the single list of what a config may contain. */
const CHECKS: Record<keyof UserConfig, Check> = {
  root: isString,
  imports: isStringList,
  brokerUrl: checkBrokerUrl,
  brokerFailoverStrategy: (v) =>
    FAILOVER_STRATEGIES.includes(v as FailoverStrategy) ? undefined : `must be one of ${FAILOVER_STRATEGIES.map((x) => `'${x}'`).join(', ')}`,
  resultBackend: (v) =>
    isString(v) ??
    (/^(rpc|none|disabled)(:\/\/)?$/.test(v as string) || /^(rediss?|redis\+socket|socket|sentinel):\/\//.test(v as string)
      ? undefined
      : "must be 'rpc://', 'redis://...' (rediss://, redis+socket://, sentinel://) or 'none'"),
  resultExpires: (v) => (typeof v === 'number' && v >= 0 && Number.isFinite(v) ? undefined : 'must be a number of seconds, 0 or more (0: never expire)'),
  resultExtended: isBool,
  rpcReplyQueueExpires: (v) => (typeof v === 'number' && v >= 1 && Number.isFinite(v) ? undefined : 'must be a number of seconds, 1 or more'),
  defaultQueue: isString,
  queues: isObject,
  defaultQueueType: (v) => (v === 'classic' || v === 'quorum' ? undefined : "must be 'classic' or 'quorum'"),
  concurrency: isPosInt,
  prefetchMultiplier: isPosInt,
  autoscale: (v) =>
    Array.isArray(v) && v.length === 2 && v.every((n) => Number.isInteger(n) && n >= 0) && v[0] >= v[1] && v[0] > 0
      ? undefined
      : 'must be [max, min]: whole numbers, max at least min and above 0',
  autoscaleKeepalive: (v) => (typeof v === 'number' && v >= 0 ? undefined : 'must be a number of seconds, 0 or more'),
  workerPoolRestarts: isBool,
  acksLate: isBool,
  ignoreResult: isBool,
  disableRateLimits: isBool,
  logLevel: (v) => (normalizeLogLevel(v) ? undefined : `must be one of ${LOG_LEVELS.join(', ')} (or Celery's WARNING, CRITICAL; any case)`),
  logFile: isString,
  brokerConnectionRetryOnStartup: isBool,
  brokerConnectionMaxRetries: isNonNegInt,
  brokerReconnectMaxRetries: isNonNegInt,
  workerName: isString,
  sendEvents: isBool,
  brokerTls: isObject,
  brokerHeartbeat: (v) => (typeof v === 'number' && v >= 0 ? undefined : 'must be a number of seconds (0 disables)'),
  brokerTransportOptions: checkTransportOptions,
  pool: (v) => (v === 'async' || v === 'threads' ? undefined : "must be 'async' or 'threads'"),
  taskTimeLimit: (v) => (typeof v === 'number' && v > 0 ? undefined : 'must be a number of seconds above 0'),
  taskSoftTimeLimit: (v) => (typeof v === 'number' && v > 0 ? undefined : 'must be a number of seconds above 0'),
  maxMessageBytes: isPosInt,
  maxRedeliveries: isNonNegInt,
  deadLetterQueue: (v) => (v === null ? undefined : isString(v)),
  workerEnableRemoteControl: isBool,
  controlCommands: isStringList,
  controlSecret: (v) => (typeof v === 'string' && v.length >= 16 ? undefined : 'must be a string of at least 16 characters'),
  controlSignatureWindow: (v) => (typeof v === 'number' && v > 0 && Number.isFinite(v) ? undefined : 'must be a number of seconds above 0'),
  workerMaxSemiSpaceMb: isNonNegInt,
  workerHeapGrowingPercent: isNonNegInt,
  beatSchedule: isObject,
  timezone: (v) => isString(v) ?? (isTimeZone(v as string) ? undefined : "must be an IANA time zone such as 'UTC' or 'Europe/Berlin'"),
  beatStartingDeadline: (v) => (v === null || (typeof v === 'number' && v >= 0) ? undefined : 'must be a number of seconds, 0 or more, or null (no limit)'),
  beatStoreUrl: (v) =>
    isString(v) ??
    (/^(amqps?|file|rediss?|redis\+socket|socket|sentinel):\/\//.test(v as string) ? undefined : 'must be a file://, amqp(s):// or redis(s):// URL'),
  beatKeyPrefix: isString,
  beatLockTimeout: (v) => (typeof v === 'number' && v > 0 ? undefined : 'must be a number of seconds above 0'),
  dashboard: (v) => {
    const problem = isObject(v);
    if (problem) return problem;
    for (const [k, x] of Object.entries(v as object)) {
      const ok = DASHBOARD_KEYS[k as keyof DashboardSettings];
      if (!ok) return `has an unknown key '${k}' (known: ${Object.keys(DASHBOARD_KEYS).join(', ')})`;
      if (x !== undefined && !ok(x)) return `has an invalid '${k}'`;
    }
    return undefined;
  },
};

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Throw ConfigError for unknown keys (with "did you mean") and wrongly typed values. */
export function validateUserConfig(raw: unknown, source: string): UserConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`${source}: the config must be an object (export default defineConfig({ ... }))`);
  }
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const check = CHECKS[key as keyof UserConfig];
    if (!check) {
      const hint = closest(key, Object.keys(CHECKS), 1)[0];
      throw new ConfigError(`${source}: unknown key '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
    }
    const problem = check(value);
    // A secret is never quoted, not even a wrong one (it may be a real one in the wrong place).
    if (problem) throw new ConfigError(`${source}: '${key}' ${problem}${key === 'controlSecret' ? '' : ` (got ${shown(value)})`}`);
  }
  return raw as UserConfig;
}

/** A bad value as an error message may quote it: any password in a URL masked. */
function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(maskUrl(value));
  return maskUrlsIn(JSON.stringify(value) ?? String(value));
}

/**
 * Checks that need the merged config: a value may be fine alone and wrong with another (a
 * prefetch of concurrency x multiplier over AMQP's 16-bit limit would crash the worker at
 * start with "value out of range").
 */
export function validateConfig(config: Config): Config {
  const concurrency = config.autoscale?.[0] ?? config.concurrency;
  const prefetch = concurrency * config.prefetchMultiplier;
  if (prefetch > MAX_PREFETCH) {
    throw new ConfigError(
      `prefetch = ${config.autoscale ? 'autoscale max' : 'concurrency'} x prefetchMultiplier = ${concurrency} x ${config.prefetchMultiplier} = ${prefetch}, over the broker limit of ${MAX_PREFETCH}: lower --prefetch-multiplier or ${config.autoscale ? '--autoscale' : '-c'}`,
    );
  }
  if (config.autoscale && config.pool === 'threads')
    throw new ConfigError('autoscale needs the async pool: the threads pool has a fixed number of threads (-c)');
  return config;
}

/** Defaults for everything but root and configFile. */
export function defaults(): Omit<Config, 'root' | 'configFile' | 'brokerUrl'> {
  return {
    imports: [],
    resultBackend: 'rpc',
    brokerFailoverStrategy: 'round-robin',
    rpcReplyQueueExpires: 3600,
    resultExpires: 86_400,
    resultExtended: false,
    defaultQueue: 'celery',
    queues: {},
    defaultQueueType: 'classic',
    concurrency: availableParallelism(),
    prefetchMultiplier: 4,
    autoscale: null,
    autoscaleKeepalive: 30,
    workerPoolRestarts: false,
    acksLate: false,
    ignoreResult: false,
    disableRateLimits: false,
    logLevel: 'info',
    logFile: undefined,
    brokerConnectionRetryOnStartup: true,
    brokerConnectionMaxRetries: 100,
    brokerReconnectMaxRetries: 0,
    workerName: 'celery@%h',
    sendEvents: false,
    pool: 'async',
    brokerTls: undefined,
    brokerHeartbeat: undefined,
    brokerTransportOptions: {},
    taskTimeLimit: null,
    taskSoftTimeLimit: null,
    maxMessageBytes: 10 * 1024 * 1024,
    maxRedeliveries: 5,
    deadLetterQueue: 'celeryts.dlq',
    workerEnableRemoteControl: true,
    controlCommands: undefined,
    controlSecret: undefined,
    controlSignatureWindow: 60,
    workerMaxSemiSpaceMb: 4,
    workerHeapGrowingPercent: 50,
    beatSchedule: {},
    timezone: 'UTC',
    beatStartingDeadline: null,
    beatStoreUrl: undefined,
    beatKeyPrefix: 'celeryts.beat',
    beatLockTimeout: 5,
    dashboard: {},
  };
}

/** Type helper for celeryts.config.ts: `export default defineConfig({ ... })`. */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}
