/**
 * Push waits on the Redis result backend: one subscriber connection for every wait of the
 * process. A wait SUBSCRIBEs to the task's key (Celery publishes each stored state on the key's
 * own name), then reads the key, so a state stored before the subscription took effect is not
 * missed; a ready state ends the wait and its subscription. Waits started in the same tick
 * share one SUBSCRIBE and one MGET. After a reconnect (ioredis subscribes again by itself)
 * every open wait is read again: a state published while the connection was down is found.
 */
import type { Redis } from 'ioredis';
import { READY_STATES } from '../../core/states.js';
import type { Logger } from '../../logging/logger.js';
import type { ResultMeta, ResultState } from '../async-result.js';
import { decodeTaskMeta } from './meta.js';

/** MGET/SUBSCRIBE at most this many keys per command. */
const CHUNK = 1000;
/** A failed subscribe is tried again after this long. */
const RETRY_MS = 500;

/** Everything one process waits for on one Redis result backend. */
export class ResultConsumer {
  /** key -> the states waiting for it (held strongly until ready or given up). */
  readonly #waits = new Map<string, Set<ResultState>>();
  #toSubscribe = new Set<string>();
  #toUnsubscribe = new Set<string>();
  #flushing: Promise<void> | undefined;
  #connected = false;
  #closed = false;

  constructor(
    private readonly sub: Redis,
    private readonly cmd: Redis,
    private readonly log: Logger,
    private readonly describe: (err: unknown) => string,
  ) {
    sub.on('message', (channel: string, message: string) => this.#onMessage(channel, message));
    sub.on('ready', () => {
      // The first ready is the initial connect; later ones follow a reconnect.
      if (this.#connected) void this.#reread([...this.#waits.keys()]);
      this.#connected = true;
    });
  }

  /** Deliver states of `key` to `st` until a ready one. */
  watch(key: string, st: ResultState): void {
    let set = this.#waits.get(key);
    if (!set) {
      set = new Set();
      this.#waits.set(key, set);
      this.#toUnsubscribe.delete(key);
      this.#toSubscribe.add(key);
      this.#schedule();
    }
    set.add(st);
  }

  /** `st` stopped waiting (a timeout) before its task was ready. */
  unwatch(key: string, st: ResultState): void {
    const set = this.#waits.get(key);
    if (!set?.delete(st) || set.size > 0) return;
    this.#drop(key);
  }

  #drop(key: string): void {
    this.#waits.delete(key);
    if (this.#toSubscribe.delete(key)) return;
    this.#toUnsubscribe.add(key);
    this.#schedule();
  }

  #schedule(): void {
    this.#flushing ??= Promise.resolve().then(() => this.#flush());
  }

  async #flush(): Promise<void> {
    try {
      const unsub = [...this.#toUnsubscribe];
      this.#toUnsubscribe = new Set();
      for (let i = 0; i < unsub.length; i += CHUNK) await this.sub.unsubscribe(...unsub.slice(i, i + CHUNK));
      const keys = [...this.#toSubscribe];
      this.#toSubscribe = new Set();
      for (let i = 0; i < keys.length; i += CHUNK) {
        const chunk = keys.slice(i, i + CHUNK);
        try {
          await this.sub.subscribe(...chunk);
        } catch (err) {
          // Redis is away: keep the waits, try again (ioredis reconnects meanwhile).
          for (const k of keys.slice(i)) if (this.#waits.has(k)) this.#toSubscribe.add(k);
          this.log.warn({ err: this.describe(err) }, 'cannot subscribe to results yet; retrying');
          await new Promise((r) => setTimeout(r, RETRY_MS));
          break;
        }
        await this.#reread(chunk);
      }
    } catch (err) {
      this.log.warn({ err: this.describe(err) }, 'result subscription update failed');
    } finally {
      this.#flushing = undefined;
      if (!this.#closed && (this.#toSubscribe.size > 0 || this.#toUnsubscribe.size > 0)) this.#schedule();
    }
  }

  /** Read the stored values of `keys` and apply them to their waits. */
  async #reread(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      let values: (string | null)[];
      try {
        values = await this.cmd.mget(...chunk);
      } catch (err) {
        // The subscription stays; a published state still arrives, and a reconnect reads again.
        this.log.warn({ err: this.describe(err) }, 'cannot read results after subscribing; waiting for them to be published');
        continue;
      }
      values.forEach((v, j) => {
        if (v !== null) this.#deliver(chunk[j]!, v);
      });
    }
  }

  #onMessage(channel: string, message: string): void {
    if (this.#waits.has(channel)) this.#deliver(channel, message);
  }

  #deliver(key: string, raw: string): void {
    const set = this.#waits.get(key);
    if (!set) return;
    let meta: ResultMeta;
    try {
      meta = decodeTaskMeta(raw);
    } catch (err) {
      this.log.warn({ err, key }, 'ignoring a malformed stored result');
      return;
    }
    if (READY_STATES.has(meta.status)) this.#drop(key);
    for (const st of set) st.apply(meta);
  }

  /** Number of task ids waited for (tests, stats). */
  get size(): number {
    return this.#waits.size;
  }

  close(): void {
    this.#closed = true;
  }
}
