/**
 * Beat's store on Redis (RedBeat's idea, with fencing):
 *
 *   <prefix>:lock      the leader's token, SET NX PX <lease>; renewed every fifth of the lease
 *                      by a compare-and-pexpire script, released by compare-and-delete
 *   <prefix>:state     JSON { epoch, state }, written only by a script that first checks the
 *                      lock still holds the writer's token (a leader whose lease ran out, or
 *                      whose lock was taken, cannot overwrite its successor's state)
 *   <prefix>:entries   hash: entry name -> stored entry JSON; any process HSETs/HDELs its own
 *
 * The leader counts its lease from when it sent the SET/renewal (a monotonic clock), minus a
 * margin for clock drift, and stops sending the moment that runs out even if Redis is silent.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { LeadershipLostError } from '../../core/errors.js';
import { parseRedisUrl } from '../../util/redis-url.js';
import type { BeatState } from '../plan.js';
import type { BeatLogger } from '../scheduler.js';
import type { BeatStore, Leadership, StoredEntry, StoreTiming } from '../store.js';
import { parseState, parseStoredEntry } from '../store-json.js';

const RENEW = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const WRITE_STATE = `if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end redis.call('set', KEYS[2], ARGV[2]) return 1`;

/** The Redis store. */
export class RedisBeatStore implements BeatStore {
  readonly description: string;
  readonly election: string;
  readonly #url: string;
  readonly #keys: { lock: string; state: string; entries: string };
  #client: Redis | undefined;
  #lastError = '';

  /** `masterName`: for sentinel:// URLs without one (brokerTransportOptions.masterName). */
  constructor(
    url: string,
    prefix: string,
    private readonly timing: StoreTiming,
    private readonly log: BeatLogger,
    private readonly masterName?: string,
  ) {
    this.#url = url;
    const parsed = parseRedisUrl(url, this.#settings);
    this.#keys = { lock: `${prefix}:lock`, state: `${prefix}:state`, entries: `${prefix}:entries` };
    this.description = `${parsed.displayUrl} (keys ${prefix}:*)`;
    this.election = `lock key ${this.#keys.lock}: SET NX with a ${timing.leaseMs / 1000}s lease, renewed every ${timing.pollMs / 1000}s`;
  }

  get #settings(): { masterName?: string } {
    return this.masterName ? { masterName: this.masterName } : {};
  }

  get #redis(): Redis {
    if (!this.#client) {
      const { options } = parseRedisUrl(this.#url, this.#settings);
      const client = new Redis({
        ...options,
        lazyConnect: true,
        // Fail a command rather than queue it past the lease: the leader must know it is cut off.
        commandTimeout: Math.max(500, Math.round(this.timing.leaseMs / 2)),
        maxRetriesPerRequest: 1,
        connectionName: 'celeryts-beat',
      });
      client.on('error', (err: Error) => {
        if (err.message === this.#lastError) return;
        this.#lastError = err.message;
        this.log.warn({ err: err.message, store: this.description }, 'beat: Redis connection error');
      });
      client.on('ready', () => {
        this.#lastError = '';
      });
      this.#client = client;
    }
    return this.#client;
  }

  async entries(): Promise<Map<string, StoredEntry>> {
    const all = await this.#redis.hgetall(this.#keys.entries);
    const out = new Map<string, StoredEntry>();
    for (const [name, json] of Object.entries(all)) {
      const stored = parseStoredEntry(name, json, this.#keys.entries, this.log);
      if (stored) out.set(name, stored);
    }
    return out;
  }

  async setEntry(name: string, stored: StoredEntry): Promise<void> {
    await this.#redis.hset(this.#keys.entries, name, JSON.stringify(stored));
  }

  async removeEntry(name: string): Promise<boolean> {
    return (await this.#redis.hdel(this.#keys.entries, name)) > 0;
  }

  async readState(): Promise<BeatState> {
    const raw = await this.#redis.get(this.#keys.state);
    return raw ? parseState(raw, this.#keys.state, this.log) : {};
  }

  async tryLead(): Promise<Leadership | undefined> {
    const token = `${hostname()}:${process.pid}:${randomBytes(8).toString('hex')}`;
    const sentAt = performance.now();
    const ok = await this.#redis.set(this.#keys.lock, token, 'PX', this.timing.leaseMs, 'NX');
    return ok === 'OK' ? this.#leadership(token, sentAt) : undefined;
  }

  #leadership(token: string, acquiredAt: number): Leadership {
    const { leaseMs, pollMs } = this.timing;
    const ctl = new AbortController();
    // Drift margin: Redis expires the key on its clock; stop a little before ours says so.
    const margin = Math.max(20, Math.round(leaseMs * 0.1));
    let validUntil = acquiredAt + leaseMs - margin;
    let expiry: NodeJS.Timeout | undefined;
    const lose = (why: string): void => {
      if (ctl.signal.aborted) return;
      clearInterval(renewal);
      clearTimeout(expiry);
      this.log.warn({ store: this.description, why }, 'beat: Redis lock lost');
      ctl.abort();
    };
    const armExpiry = (): void => {
      clearTimeout(expiry);
      expiry = setTimeout(() => lose('lease ran out without a renewal'), Math.max(0, validUntil - performance.now()));
    };
    const renew = async (): Promise<void> => {
      if (ctl.signal.aborted) return;
      const sentAt = performance.now();
      try {
        const r = await this.#redis.eval(RENEW, 1, this.#keys.lock, token, leaseMs);
        if (r === 1) {
          validUntil = Math.max(validUntil, sentAt + leaseMs - margin);
          armExpiry();
        } else lose('another instance holds the lock');
      } catch (err) {
        // Keep the lease we have: it runs out on its own if Redis stays unreachable.
        this.log.warn({ err: (err as Error).message }, 'beat: could not renew the Redis lock');
      }
    };
    // Renewed by a timer of its own, not by the scheduler's loop: the lease says whether this
    // process and its Redis link are alive, whatever the loop is waiting for.
    const renewal = setInterval(() => void renew(), pollMs);
    armExpiry();
    const store = this;
    return {
      get signal(): AbortSignal {
        if (!ctl.signal.aborted && performance.now() >= validUntil) lose('lease ran out without a renewal');
        return ctl.signal;
      },
      readState: () => this.readState(),
      async writeState(state: BeatState): Promise<void> {
        if (this.signal.aborted) throw new LeadershipLostError('the Redis lease ran out');
        const r = await store.#redis.eval(WRITE_STATE, 2, store.#keys.lock, store.#keys.state, token, JSON.stringify({ v: 1, state }));
        if (r !== 1) {
          lose('another instance holds the lock');
          throw new LeadershipLostError(`the Redis lock ${store.#keys.lock} is no longer this instance's`);
        }
      },
      entries: () => this.entries(),
      applyEntries: async (set, remove) => {
        const multi = this.#redis.multi();
        for (const [name, stored] of set) multi.hset(this.#keys.entries, name, JSON.stringify(stored));
        if (remove.length > 0) multi.hdel(this.#keys.entries, ...remove);
        await multi.exec();
      },
      refresh: async () => undefined,
      release: async () => {
        clearInterval(renewal);
        clearTimeout(expiry);
        ctl.abort();
        await this.#redis.eval(RELEASE, 1, this.#keys.lock, token);
      },
    };
  }

  async close(): Promise<void> {
    const c = this.#client;
    this.#client = undefined;
    if (c) await c.quit().catch(() => c.disconnect());
  }
}
