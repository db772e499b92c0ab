/**
 * A consumer of one queue's lists. Its loop, one step at a time:
 *
 * ```
 *   credit? ──no──▶ idle until wake() (an ack freed room)
 *     │yes
 *     ▼
 *   take up to credit (Lua, atomic: pop + record in `unacked`) ──▶ deliver each
 *     │ fewer than asked: the queue is empty
 *     ▼
 *   wait: BLMOVE q q RIGHT RIGHT <1 s> on a connection of its own. Moving the last element to
 *   where it was leaves the list unchanged: it only blocks until the list is non-empty, so a
 *   consumer killed while waiting holds nothing. Priority lists (3, 6, 9) are looked at by every
 *   take, so an idle consumer sees them within the wait's timeout.
 * ```
 * Settling: acks (and removals) are batched per event-loop turn into one HDEL + ZREM; a requeue
 * pushes the message back marked redelivered under a fresh delivery tag (so a late ack of the
 * old tag can never remove the message's next holder); close() pushes every held one back to the
 * front of its queue. Held tags are kept alive in `unacked_index` every third of the visibility
 * timeout, so no worker (Python's included) restores a message a live consumer still holds.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { BrokerError } from '../../core/errors.js';
import type { ConsumerSink, DriverConsumer, RawDelivery, Settlement } from '../virtual/driver.js';
import { run, runIn } from './connection.js';
import { decodeEnvelope, parseUnacked, restoredEnvelope } from './envelope.js';
import { type Keys, priorityStep } from './keys.js';

/** What a list consumer needs from its driver. */
export interface ListConsumerHost {
  readonly keys: Keys;
  readonly visibilityTimeoutMs: number;
  /** The command connection. */
  readonly cmd: Redis;
  /** A connection of its own for blocking waits. */
  blockingConnection(): Redis;
  forget(consumer: ListConsumer): void;
}

/** Most messages one take asks for. */
const MAX_BATCH = 500;
/** How long one blocking wait lasts (s); priority lists are looked at after each. */
const WAIT_SECONDS = 1;

/** What the consumer keeps per delivery it handed out. */
interface Held {
  tag: string;
  envelope: string;
  priority: number | undefined;
}

let seq = 0;

/** One queue's consumer; see the module comment. */
export class ListConsumer implements DriverConsumer {
  readonly id = `${process.pid}.${randomBytes(4).toString('hex')}.${++seq}`;
  readonly #lists: string[];
  readonly #taking: string;
  readonly #held = new Map<string, Held>();
  #active = true;
  #running: Promise<void> | undefined;
  #wanted = false;
  #takeSeq = 0;
  #confirmed = '';
  #waiter: Redis | undefined;
  #refresh: NodeJS.Timeout | undefined;
  #acks: Held[] = [];
  #ackBatch: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;
  #retryMs = 0;

  constructor(
    private readonly host: ListConsumerHost,
    readonly queue: string,
    private readonly noAck: boolean,
    private readonly sink: ConsumerSink,
  ) {
    this.#lists = host.keys.lists(queue);
    this.#taking = host.keys.taking(this.id);
    if (!noAck) {
      const every = Math.max(250, Math.floor(host.visibilityTimeoutMs / 3));
      this.#refresh = setInterval(() => this.#keepAlive(), every);
      this.#refresh.unref();
    }
  }

  /** Start the loop. */
  start(): void {
    this.wake();
  }

  wake(): void {
    this.#wanted = true;
    if (this.#running || !this.#active) return;
    this.#running = this.#loop()
      .catch((err: unknown) => this.sink.reportError(err))
      .finally(() => {
        this.#running = undefined;
        if (this.#wanted && this.#active && this.sink.credit() > 0) this.wake();
      });
  }

  async #loop(): Promise<void> {
    while (this.#active) {
      this.#wanted = false;
      const credit = this.sink.credit();
      if (credit <= 0) return; // wake() restarts us when an ack frees room
      const n = Math.min(credit, MAX_BATCH);
      let got: number;
      try {
        got = await this.#take(n);
        this.#retryMs = 0;
      } catch (err) {
        if (!this.#active) return;
        this.sink.reportError(err);
        this.#retryMs = Math.min(1000, Math.max(50, this.#retryMs * 2));
        await new Promise((r) => setTimeout(r, this.#retryMs));
        continue;
      }
      if (got < n && this.#active && !this.#wanted) await this.#wait();
    }
  }

  /** One take; returns how many messages it handed out. */
  async #take(n: number): Promise<number> {
    const { keys } = this.host;
    // A retry after a failure reuses the sequence number: the script then replays that take.
    if (this.#takeSeq === 0 || this.#confirmed === String(this.#takeSeq)) this.#takeSeq++;
    const takeSeq = String(this.#takeSeq);
    const reply = (await run(
      this.host.cmd,
      'ctsTake',
      [...this.#lists, keys.unacked, keys.unackedIndex, this.#taking],
      [
        n,
        (Date.now() / 1000).toFixed(6),
        takeSeq,
        this.#confirmed,
        this.queue,
        this.noAck ? '1' : '0',
        Math.max(60_000, this.host.visibilityTimeoutMs),
        `celeryts.${this.id}.${takeSeq}.`,
      ],
    )) as string[];
    this.#confirmed = takeSeq;
    let count = 0;
    for (let i = 0; i + 2 < reply.length; i += 3) {
      const tag = reply[i]!;
      let text = reply[i + 1]!;
      if (reply[i + 2] === 'u') {
        const entry = parseUnacked(text);
        if (!entry) continue;
        text = entry.envelope;
      }
      count++;
      this.#deliver(tag, text);
    }
    return count;
  }

  #deliver(tag: string, text: string): void {
    let raw: RawDelivery;
    try {
      const env = decodeEnvelope(text);
      raw = { ...env, handle: tag, redelivered: env.redelivered };
      if (!this.noAck) this.#held.set(tag, { tag, envelope: text, priority: env.properties.priority });
    } catch (err) {
      // Not an envelope: hand it out as a body-only message so the worker rejects it, logged.
      raw = { body: Buffer.from(text), headers: {}, properties: {}, exchange: '', routingKey: this.queue, handle: tag, redelivered: false };
      if (!this.noAck) this.#held.set(tag, { tag, envelope: text, priority: undefined });
      this.sink.reportError(new BrokerError(`message in '${this.queue}' is not a kombu envelope: ${(err as Error).message}`));
    }
    this.sink.deliver(raw);
  }

  /** Block until the queue's main list is non-empty (or a second passes); takes nothing. */
  async #wait(): Promise<void> {
    this.#waiter ??= this.host.blockingConnection();
    const list = this.#lists[0]!;
    try {
      await this.#waiter.blmove(list, list, 'RIGHT', 'RIGHT', WAIT_SECONDS);
    } catch (err) {
      if (!this.#active) return;
      throw err;
    }
  }

  settle(handle: unknown, how: Settlement): void | Promise<void> {
    const tag = handle as string;
    const held = this.#held.get(tag);
    if (!held) return;
    this.#held.delete(tag);
    const done = how === 'requeue' ? this.#restore([held], 'back') : this.#ack(held);
    if (!this.#active && this.#held.size === 0) void done.finally(() => this.#stop()).catch(() => undefined);
    return done;
  }

  #ack(held: Held): Promise<void> {
    this.#acks.push(held);
    if (!this.#ackBatch) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => undefined); // callers that do not wait must not see an unhandled rejection
      this.#ackBatch = { promise, resolve, reject };
      setImmediate(() => this.#flushAcks());
    }
    return this.#ackBatch.promise;
  }

  /** Send the acks of this turn now and wait for them (close must not outrun them). */
  async #settleAcksNow(): Promise<void> {
    const batch = this.#ackBatch;
    if (!batch) return;
    this.#flushAcks();
    await batch.promise.catch(() => undefined);
  }

  #flushAcks(): void {
    const batch = this.#ackBatch;
    if (!batch) return; // flushed early by close()
    const acked = this.#acks;
    const tags = acked.map((h) => h.tag);
    this.#ackBatch = undefined;
    this.#acks = [];
    const { keys, cmd } = this.host;
    // HDEL first: killed in between leaves an index entry without a message, which restore drops.
    cmd
      .pipeline()
      .hdel(keys.unacked, ...tags)
      .zrem(keys.unackedIndex, ...tags)
      .exec()
      .then((results) => {
        const failed = results?.find(([e]) => e)?.[0];
        if (failed) throw failed;
        batch.resolve();
      })
      .catch((err: unknown) => {
        // Still in `unacked`: held again, so they are kept alive and close() returns them; the
        // caller may retry or requeue (an early-ack task whose ack failed must not run).
        for (const h of acked) this.#held.set(h.tag, h);
        batch.reject(new BrokerError(`ack of ${tags.length} message(s) in '${this.queue}' failed: ${(err as Error).message}`, { cause: err }));
      });
  }

  /** Push held messages back to the queue, marked redelivered, under fresh tags. */
  async #restore(held: Held[], where: 'front' | 'back'): Promise<void> {
    if (held.length === 0) return;
    const { keys, cmd } = this.host;
    const p = cmd.pipeline();
    for (const h of held) {
      const env = restoredEnvelope(h.envelope, `${h.tag.split('#')[0]}#r${randomBytes(3).toString('hex')}`);
      runIn(p, 'ctsRestore', [keys.unacked, keys.unackedIndex, keys.list(this.queue, priorityStep(h.priority))], [h.tag, env, where, '']);
    }
    const results = await p.exec();
    const failed = results?.find(([e]) => e)?.[0];
    if (failed) throw new BrokerError(`returning messages to '${this.queue}' failed: ${failed.message}`, { cause: failed });
  }

  /** Restart one held delivery's visibility timeout (Delivery.touch). */
  async touch(handle: unknown): Promise<void> {
    const tag = handle as string;
    if (!this.#held.has(tag)) return;
    await this.host.cmd.zadd(this.host.keys.unackedIndex, 'XX', (Date.now() / 1000).toFixed(6), tag);
  }

  /** Refresh the delivery time of every held tag, so no restore takes them from a live consumer. */
  #keepAlive(): void {
    if (this.#held.size === 0) return;
    const now = (Date.now() / 1000).toFixed(6);
    const args: string[] = [];
    for (const tag of this.#held.keys()) args.push(now, tag);
    this.host.cmd.zadd(this.host.keys.unackedIndex, 'XX', ...args).catch((err: unknown) => this.sink.reportError(err));
  }

  async cancel(): Promise<void> {
    if (!this.#active) return;
    this.#active = false;
    this.#waiter?.disconnect();
    this.#waiter = undefined;
    await this.#running;
    if (this.#held.size === 0) this.#stop();
  }

  async close(): Promise<void> {
    await this.cancel();
    await this.#settleAcksNow();
    const held = [...this.#held.values()];
    this.#held.clear();
    try {
      await this.#restore(held, 'front');
    } finally {
      this.#stop();
    }
  }

  #stop(): void {
    clearInterval(this.#refresh);
    this.host.cmd.del(this.#taking).catch(() => undefined); // nothing left to replay
    this.host.forget(this);
  }
}
