/**
 * Background work of a Redis broker that has consumers:
 *
 * - Visibility restore (kombu's QoS.restore_visible): messages in `unacked_index` older than the
 *   visibility timeout were taken by a consumer that died (live celeryts consumers keep theirs
 *   fresh, see list-consumer.ts), so they go back to the front of their queue, marked
 *   redelivered. Under kombu's `unacked_mutex` (SET NX PX), so Python workers and celeryts
 *   take turns; each message moves with a compare-and-set on its `unacked` entry, so even a
 *   restorer that ignores the mutex cannot make two copies. Routing is kombu's: the entry's
 *   exchange and routing key, looked up again (the default exchange names the queue).
 * - Delayed messages (`publish(..., { delayMs })`, parked far-future eta tasks): held in the
 *   `_celeryts.delayed` sorted set by due time and pushed onto their queue when due. One timer,
 *   for the earliest due time, and a look every second for messages other processes parked.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { run, runIn } from './connection.js';
import { decodeEnvelope, parseUnacked, restoredEnvelope } from './envelope.js';
import { type Keys, priorityStep } from './keys.js';

/** What maintenance needs from the driver. */
export interface MaintenanceHost {
  readonly keys: Keys;
  /** The command connection. */
  conn(): Redis;
  readonly visibilityTimeoutMs: number;
  /** The queues a message published to `exchange` with `routingKey` reaches. */
  route(exchange: string, routingKey: string): Promise<string[]>;
  reportError(condition: string, err: unknown): void;
}

/** kombu's unacked_mutex_expire. */
const MUTEX_MS = 300_000;
/** Entries restored per pass step. */
const RESTORE_BATCH = 100;
/** Delayed messages moved per script call. */
const MOVE_BATCH = 500;
/** How often to look for delayed messages parked by other processes. */
const DELAY_POLL_MS = 1000;

/** The background work; started with the broker's first consumer. */
export class Maintenance {
  #restoreTimer: NodeJS.Timeout | undefined;
  #delayTimer: NodeJS.Timeout | undefined;
  #delayDue = Number.POSITIVE_INFINITY;
  #moving: Promise<void> | undefined;
  #restoring: Promise<void> | undefined;
  #running = false;

  constructor(private readonly host: MaintenanceHost) {}

  start(): void {
    if (this.#running) return;
    this.#running = true;
    const every = Math.min(60_000, Math.max(1000, Math.floor(this.host.visibilityTimeoutMs / 4)));
    this.#restoreTimer = setInterval(() => void this.restoreVisible(), every).unref();
    void this.restoreVisible();
    this.#armDelay(0);
  }

  stop(): Promise<void> {
    this.#running = false;
    clearInterval(this.#restoreTimer);
    clearTimeout(this.#delayTimer);
    return Promise.allSettled([this.#moving, this.#restoring]).then(() => undefined);
  }

  /** A delayed message was parked from this process, due at `dueAt`. */
  parked(dueAt: number): void {
    if (this.#running && dueAt < this.#delayDue) this.#armDelay(dueAt - Date.now());
  }

  /** One restore pass (also run once on start). */
  restoreVisible(): Promise<void> {
    this.#restoring ??= this.#restorePass()
      .catch((err: unknown) => this.host.reportError('restoring unacked messages failed', err))
      .finally(() => (this.#restoring = undefined));
    return this.#restoring;
  }

  async #restorePass(): Promise<void> {
    const { keys } = this.host;
    const cmd = this.host.conn();
    const token = randomBytes(8).toString('hex');
    if ((await cmd.set(keys.unackedMutex, token, 'PX', MUTEX_MS, 'NX')) !== 'OK') return; // another worker is at it
    try {
      const ceil = (Date.now() - this.host.visibilityTimeoutMs) / 1000;
      for (let round = 0; round < 100 && this.#running; round++) {
        const tags = await cmd.zrangebyscore(keys.unackedIndex, 0, ceil, 'LIMIT', 0, RESTORE_BATCH);
        if (tags.length === 0) return;
        const values = await cmd.hmget(keys.unacked, ...tags);
        const p = cmd.pipeline();
        for (let i = 0; i < tags.length; i++) await this.#restoreOne(p, tags[i]!, values[i] ?? null);
        await p.exec();
        if (tags.length < RESTORE_BATCH) return;
      }
    } finally {
      await run(cmd, 'ctsUnlock', [keys.unackedMutex], [token]).catch(() => undefined);
    }
  }

  async #restoreOne(p: ReturnType<Redis['pipeline']>, tag: string, value: string | null): Promise<void> {
    const { keys } = this.host;
    const entry = value === null ? undefined : parseUnacked(value);
    if (!entry) {
      // Gone (acked meanwhile) or unreadable: drop the index entry, keep an unreadable value.
      p.zrem(keys.unackedIndex, tag);
      return;
    }
    let priority: number | undefined;
    try {
      priority = decodeEnvelope(entry.envelope).properties.priority;
    } catch {
      priority = undefined;
    }
    const queues = await this.host.route(entry.exchange, entry.routingKey);
    const lists = queues.map((q) => keys.list(q, priorityStep(priority)));
    const env = restoredEnvelope(entry.envelope, `${tag.split('#')[0]}#r${randomBytes(3).toString('hex')}`);
    runIn(p, 'ctsRestore', [keys.unacked, keys.unackedIndex, ...lists], [tag, env, 'front', value!]);
  }

  #armDelay(inMs: number): void {
    clearTimeout(this.#delayTimer);
    if (!this.#running) return;
    const wait = Math.max(0, Math.min(inMs, DELAY_POLL_MS));
    this.#delayDue = Date.now() + wait;
    this.#delayTimer = setTimeout(() => void this.#moveDue(), wait).unref();
  }

  #moveDue(): Promise<void> {
    this.#moving ??= (async () => {
      let next: number | undefined;
      try {
        for (;;) {
          const [moved, nextDue] = (await run(this.host.conn(), 'ctsMoveDue', [this.host.keys.delayed], [Date.now(), MOVE_BATCH])) as [number, string | null];
          next = nextDue ? Number(nextDue) : undefined;
          if (moved < MOVE_BATCH || !this.#running) break;
        }
      } catch (err) {
        this.host.reportError('moving delayed messages failed', err);
      } finally {
        this.#moving = undefined;
        this.#delayDue = Number.POSITIVE_INFINITY;
        this.#armDelay(next === undefined ? DELAY_POLL_MS : next - Date.now());
      }
    })();
    return this.#moving;
  }
}
