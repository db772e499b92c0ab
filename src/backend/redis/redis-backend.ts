/**
 * Celery's Redis result backend (`redis://`, `rediss://`, `redis+socket://`, `sentinel://`):
 * each state is stored under `celery-task-meta-<id>` (meta.ts) with an expiry, and published
 * on the key's name in the same atomic step, so any process can read a result by id, and
 * waiters are told at once (result-consumer.ts).
 *
 * Client: ioredis (already the Redis broker's client: maintained, typed, Node >= 12, Sentinel
 * and TLS support, automatic pipelining and resubscription on reconnect).
 *
 * When Redis is down: a read fails with ResultBackendError naming the URL (password masked);
 * the worker keeps trying to store a state with capped backoff for `retryForMs`, logging the
 * outage once, and only then gives up (the executor then requeues an acks-late task instead of
 * acking it).
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { ChordJoin, ChordSupport, GroupStore, ResultBackend, ResultTarget, TaskCallRouting } from '../../core/backend.js';
import { ResultBackendError } from '../../core/errors.js';
import type { AsyncResult } from '../../core/result.js';
import type { Logger } from '../../logging/logger.js';
import { whileHolding } from '../../util/keep-alive.js';
import { redactPassword } from '../../util/mask-url.js';
import { parseRedisUrl, type RedisUrl } from '../../util/redis-url.js';
import { ResultState, StateAsyncResult, type ResultMeta, type ResultSource } from '../async-result.js';
import { chordEntry, decodeGroup, encodeGroup, groupKey, joinEntries, PART_RETURN } from './chords.js';
import { decodeTaskMeta, encodeTaskMeta, taskKey } from './meta.js';
import { ResultConsumer } from './result-consumer.js';

/**
 * Store a state unless a SUCCESS is already stored (Celery never overwrites one), with an
 * expiry (0: none), and publish it on the key's name. One script, so the check, the write and
 * the publish are atomic, as Celery's MULTI makes the write and the publish.
 */
const STORE = `
local cur = redis.call('GET', KEYS[1])
if cur and (string.find(cur, '"status": "SUCCESS"', 1, true) or string.find(cur, '"status":"SUCCESS"', 1, true)) then
  local ok, m = pcall(cjson.decode, cur)
  if ok and type(m) == 'table' and m['status'] == 'SUCCESS' then return 0 end
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then redis.call('SETEX', KEYS[1], ttl, ARGV[1]) else redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;

/** Settings of the Redis result backend. */
export interface RedisBackendSettings {
  /** Seconds a stored result lives (Celery's result_expires); 0 = forever. Default one day. */
  expiresSeconds: number;
  /** Store name, args, kwargs, worker, retries and queue too (Celery's result_extended). */
  extended: boolean;
  /** How long the worker keeps trying to store one state while Redis is down. Default 60 s. */
  retryForMs?: number;
  revoke: ResultSource['revoke'];
  log: Logger;
}

const MAX_BACKOFF_MS = 5000;

/**
 * An idle connection does not keep the process alive (a script ends at its last line, as the
 * brokers' connections allow); every command and wait holds the process until it settles.
 */
function idle(r: Redis): Redis {
  r.on('connect', () => r.stream?.unref());
  return r;
}

type StoringRedis = Redis & {
  ctsStoreResult(key: string, value: string, ttl: number): Promise<number>;
  ctsChordPart(j: string, t: string, s: string, entry: string, score: string, ttl: number): Promise<string[] | null>;
};

/** redis:// result backend. */
export class RedisBackend implements ResultBackend {
  readonly name = 'redis';
  readonly storesById = true;
  readonly displayUrl: string;
  readonly #url: string;
  readonly #parsed: RedisUrl;
  readonly #settings: RedisBackendSettings;
  #cmd: StoringRedis | undefined;
  #consumer: ResultConsumer | undefined;
  #sub: Redis | undefined;
  /** Set while stores fail: the outage is logged once, and its end once. */
  #down = false;
  readonly #source: ResultSource;

  constructor(url: string, settings: RedisBackendSettings) {
    this.#url = url;
    this.#parsed = parseRedisUrl(url);
    this.displayUrl = this.#parsed.displayUrl;
    this.#settings = settings;
    this.#source = {
      read: (id) => this.read(id),
      forget: async (id) => {
        await this.#run(() => this.#conn().del(taskKey(id)));
      },
      revoke: settings.revoke,
      handle: (id) => this.#handle(id),
    };
  }

  /** An error's text without the password. */
  #describe = (err: unknown): string => redactPassword((err as Error)?.message ?? String(err), this.#url);

  #options(name: string): RedisOptions {
    return {
      ...this.#parsed.options,
      connectionName: name,
      // Fail a command after two reconnect attempts instead of queueing it for ever: a reader
      // gets a clear error, and the worker's store loop below does its own retrying.
      maxRetriesPerRequest: 2,
      enableAutoPipelining: true,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 1000),
    };
  }

  #conn(): StoringRedis {
    if (!this.#cmd) {
      const cmd = idle(new Redis(this.#options('celeryts-results'))) as StoringRedis;
      cmd.defineCommand('ctsStoreResult', { numberOfKeys: 1, lua: STORE });
      cmd.defineCommand('ctsChordPart', { numberOfKeys: 3, lua: PART_RETURN });
      cmd.on('error', () => undefined); // reported by the command that fails, once per outage
      this.#cmd = cmd;
    }
    return this.#cmd;
  }

  #consumerOf(): ResultConsumer {
    if (!this.#consumer) {
      const sub = idle(new Redis(this.#options('celeryts-results-sub')));
      sub.on('error', () => undefined);
      this.#sub = sub;
      this.#consumer = new ResultConsumer(sub, this.#conn(), this.#settings.log, this.#describe);
    }
    return this.#consumer;
  }

  /** Run a client-side command; a Redis failure becomes a ResultBackendError naming the backend. */
  async #run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await whileHolding(fn);
    } catch (err) {
      throw new ResultBackendError(`the Redis result backend at ${this.displayUrl} cannot be used: ${this.#describe(err)}`, { cause: err });
    }
  }

  markState(target: ResultTarget, state: string, result: unknown, traceback: string | null = null): Promise<void> {
    let value: string;
    try {
      value = encodeTaskMeta(target, state, result, traceback, this.#settings.extended);
    } catch (err) {
      return Promise.reject(err); // EncodeError: the executor fails the task with it
    }
    return whileHolding(() => this.#store(taskKey(target.id), value, target.id));
  }

  async #store(key: string, value: string, taskId: string): Promise<void> {
    const deadline = Date.now() + (this.#settings.retryForMs ?? 60_000);
    let delay = 100;
    for (;;) {
      try {
        await this.#conn().ctsStoreResult(key, value, this.#settings.expiresSeconds);
        if (this.#down) {
          this.#down = false;
          this.#settings.log.info({ backend: this.displayUrl }, 'result backend reachable again; results are stored');
        }
        return;
      } catch (err) {
        if (Date.now() + delay > deadline) {
          throw new ResultBackendError(`could not store the result of ${taskId} in the Redis result backend at ${this.displayUrl}: ${this.#describe(err)}`, {
            cause: err,
          });
        }
        if (!this.#down) {
          this.#down = true;
          this.#settings.log.error(
            { backend: this.displayUrl, err: this.#describe(err) },
            'cannot store results in the Redis result backend; retrying with backoff (acks-late tasks stay unacked until stored)',
          );
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    }
  }

  readonly chords: ChordSupport = {
    setChordSize: async (groupId, size) => {
      const ttl = this.#settings.expiresSeconds;
      await this.#run(() => (ttl > 0 ? this.#conn().setex(groupKey(groupId, '.s'), ttl, size) : this.#conn().set(groupKey(groupId, '.s'), size)));
    },
    partReturn: (groupId, taskId, groupIndex, state, result) =>
      whileHolding(async (): Promise<ChordJoin | null> => {
        const entries = await this.#conn().ctsChordPart(
          groupKey(groupId, '.j'),
          groupKey(groupId, '.t'),
          groupKey(groupId, '.s'),
          chordEntry(taskId, state, result),
          groupIndex === null ? '+inf' : String(groupIndex),
          this.#settings.expiresSeconds,
        );
        return entries ? joinEntries(entries) : null;
      }),
  };

  readonly groups: GroupStore = {
    saveGroup: async (groupId, taskIds) => {
      await this.#run(() => this.#conn().ctsStoreResult(groupKey(groupId), encodeGroup(groupId, taskIds), this.#settings.expiresSeconds));
    },
    restoreGroup: async (groupId) => {
      const raw = await this.#run(() => this.#conn().get(groupKey(groupId)));
      return raw === null ? null : decodeGroup(raw);
    },
  };

  async onTaskCall(): Promise<TaskCallRouting> {
    return {}; // the worker stores the result; the task needs no reply_to
  }

  /** The stored meta of `taskId`, or null when nothing is stored (never sent, still queued, expired, forgotten). */
  async read(taskId: string): Promise<ResultMeta | null> {
    const raw = await this.#run(() => this.#conn().get(taskKey(taskId)));
    return raw === null ? null : decodeTaskMeta(raw);
  }

  #handle<R>(taskId: string): StateAsyncResult<R> {
    const st = new ResultState();
    const key = taskKey(taskId);
    st.onWait = () => this.#consumerOf().watch(key, st);
    st.onIdle = () => this.#consumer?.unwatch(key, st);
    return new StateAsyncResult<R>(taskId, st, this.#source);
  }

  track<R>(taskId: string): AsyncResult<R> {
    // Nothing to do until someone waits: the wait subscribes, then reads.
    return this.#handle<R>(taskId);
  }

  async lookup<R>(taskId: string): Promise<AsyncResult<R>> {
    return this.#handle<R>(taskId).refresh();
  }

  async close(): Promise<void> {
    this.#consumer?.close();
    const conns = [this.#cmd, this.#sub].filter((c): c is Redis => c !== undefined);
    this.#cmd = undefined;
    this.#sub = undefined;
    this.#consumer = undefined;
    await whileHolding(() => Promise.all(conns.map((c) => c.quit().catch(() => c.disconnect()))));
  }
}
