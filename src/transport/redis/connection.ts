/**
 * ioredis connections of the Redis driver: one for commands, plus duplicates for blocking waits
 * and for publish/subscribe. Lua scripts are registered on each (EVALSHA, loaded on first use).
 *
 * Reconnects: ioredis retries forever here (capped backoff, so a restarted Redis is used again
 * within a second of its return) and keeps commands issued meanwhile until then; a command in
 * flight when the connection died is sent again after the reconnect, which the take script
 * makes safe (see scripts.ts, replay).
 */
import { Redis, type RedisOptions } from 'ioredis';
import { BrokerError } from '../../core/errors.js';
import type { RedisConnectionOptions } from '../../util/redis-url.js';
import { DELETE_QUEUE, MOVE_DUE, PURGE, RESTORE, TAKE, UNLOCK } from './scripts.js';

const SCRIPTS = { ctsTake: TAKE, ctsRestore: RESTORE, ctsMoveDue: MOVE_DUE, ctsDeleteQueue: DELETE_QUEUE, ctsPurge: PURGE, ctsUnlock: UNLOCK };
/** The scripts, callable as `run(conn, 'ctsTake', keys, args)`. */
export type ScriptName = keyof typeof SCRIPTS;

/** Longest wait between two reconnect attempts. */
const MAX_RETRY_MS = 1000;

/** Options for every connection of one broker. */
export function connectionOptions(options: RedisConnectionOptions, name: string): RedisOptions {
  return {
    ...options,
    lazyConnect: true,
    connectionName: name,
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), MAX_RETRY_MS),
    // A blocking wait is re-issued by the consumer itself; everything else is resent.
    autoResendUnfulfilledCommands: true,
  };
}

/** A new connection with the scripts defined on it. */
export function newConnection(options: RedisOptions, idleUnref = false): Redis {
  const r = new Redis(options);
  // An idle connection lets the process end; pending work holds it (transport/holding-broker.ts).
  if (idleUnref) r.on('connect', () => r.stream?.unref());
  for (const [name, lua] of Object.entries(SCRIPTS)) r.defineCommand(name, { lua });
  return r;
}

/** Run a script on a connection or pipeline. */
export function run(conn: Redis, name: ScriptName, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
  const fn = (conn as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name]!;
  return fn.call(conn, keys.length, ...keys, ...args);
}

/** Queue a script call on a pipeline. */
export function runIn(pipeline: ReturnType<Redis['pipeline']>, name: ScriptName, keys: readonly string[], args: ReadonlyArray<string | number>): void {
  const fn = (pipeline as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!;
  fn.call(pipeline, keys.length, ...keys, ...args);
}

/** Open a connection now; a BrokerError with the URL masked if Redis cannot be reached. */
export async function open(conn: Redis, displayUrl: string, redact: (text: string) => string): Promise<void> {
  try {
    await conn.connect();
  } catch (err) {
    conn.disconnect();
    throw new BrokerError(`cannot connect to Redis at ${displayUrl}: ${redact((err as Error).message)}`);
  }
}
