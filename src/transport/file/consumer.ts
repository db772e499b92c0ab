/**
 * A consumer of one queue: wakes on inotify, claims message files by rename(2) into its own
 * claimed directory, and hands them to the handler within its prefetch window.
 *
 * Life of a message file, as this consumer sees it:
 * ```
 *  ready/<base>.<g> ──rename──▶ claimed/<tag>/<base>.<g>   (ENOENT: another consumer won)
 *      │ expired (messageTtlMs / expiration) ──▶ dead-letter exchange, or unlinked
 *      │ noAck ──▶ unlinked, then handed out
 *      └──▶ handed out (counts against prefetch) ──ack──────────▶ unlinked
 *                                                ├─reject(true)─▶ ready/<base>.<g+1>
 *                                                ├─reject(false)▶ dead-letter exchange, then unlinked
 *                                                └─close()──────▶ ready/<base>.<g+1>
 * ```
 * If the process dies instead of closing, another process's recovery moves claimed/<tag>/*
 * back to ready (see recovery.ts).
 *
 * Claims, acks and requeues use synchronous rename/read/unlink on purpose: each is a ~10 µs
 * metadata syscall on a local disk, while a libuv threadpool round trip costs several times that
 * (measured 10x slower claims on a 2-CPU VM). Slow calls (readdir, fsync) stay asynchronous,
 * and the pump yields to the event loop every CLAIMS_PER_TURN claims.
 *
 * Wake-up and the candidate list live in ready-feed.ts.
 */
import { readFileSync, renameSync, unlinkSync } from 'node:fs';
import { mkdir, readdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { ConsumeOptions, Consumer, Delivery, DeliveryHandler } from '../../core/broker.js';
import { BrokerError } from '../../core/errors.js';
import { ignoreGone, isGone } from './fs-util.js';
import type { Layout } from './layout.js';
import { decodeMessage, type StoredMessage } from './message-codec.js';
import { parseMessageName, requeuedName } from './message-name.js';
import { SELF_OWNER } from './owner.js';
import type { QueueMeta, QueueStore } from './queue-store.js';
import { ReadyFeed } from './ready-feed.js';

/** Safety poll period: covers lost inotify events and watcher failures. */
export const POLL_MS = 1000;
/** Claims between yields to the event loop, so a big backlog with prefetch 0 cannot starve it. */
const CLAIMS_PER_TURN = 64;

let consumerSeq = 0;

/** What a consumer needs from its broker. */
export interface ConsumerHost {
  readonly layout: Layout;
  /** Watchers and polls do not keep the process alive. */
  readonly idleUnref: boolean;
  readonly queues: QueueStore;
  /** Publish a rejected or expired message to the queue's dead-letter exchange. */
  deadLetter(meta: QueueMeta, message: StoredMessage): Promise<void>;
  /** A message file became ready in `queue`: tell this process's consumers of it. */
  offer(queue: string, name: string): void;
  /** The consumer stopped; drop it from the broker's registry. */
  forget(consumer: FileConsumer): void;
  reportError(err: unknown): void;
}

/** One consumer; created and started by FileBroker.consume. */
export class FileConsumer implements Consumer {
  /** Consumer tag, also the name of its claimed directory (starts with the owner id). */
  readonly tag = `${SELF_OWNER}-c${++consumerSeq}`;
  private readonly readyDir: string;
  private readonly claimedDir: string;
  private readonly feed: ReadyFeed;
  /** Claimed and handed-out names not yet settled: the prefetch window. */
  private readonly outstanding = new Set<string>();
  private readonly pendingOps = new Set<Promise<unknown>>();
  /** Claimed files whose requeue failed (read-only or full disk): retried on every tick. */
  private readonly stuck = new Set<string>();
  private unacked = 0;
  private active = false;
  private pumpAgain = false;
  private pumping: Promise<void> | undefined;
  private poll: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: ConsumerHost,
    readonly queue: string,
    private readonly meta: QueueMeta,
    private readonly options: ConsumeOptions,
    private readonly handler: DeliveryHandler,
  ) {
    this.readyDir = host.layout.ready(queue);
    this.claimedDir = path.join(host.layout.claimedRoot(queue), this.tag);
    this.feed = new ReadyFeed(
      this.readyDir,
      !host.idleUnref,
      () => this.schedulePump(),
      (err) => host.reportError(err),
    );
  }

  /** Create the claimed directory, arm the watcher and the poll, start delivering. */
  async start(): Promise<void> {
    await mkdir(this.claimedDir, { recursive: true });
    this.active = true;
    await this.feed.start();
    this.poll = setInterval(() => this.tick(), POLL_MS);
    if (this.host.idleUnref) this.poll.unref();
    this.schedulePump();
  }

  /** A new ready file name from this process (publish, requeue, recovery). */
  offer(name: string): void {
    if (this.active) this.feed.offer(name);
  }

  /** Stop receiving; handed-out deliveries stay ackable. */
  async cancel(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.feed.stop();
    clearInterval(this.poll);
    this.host.forget(this);
    await this.pumping; // let the pump notice and stop
    this.maybeRemoveDir();
  }

  /** Cancel, then return every unacked delivery to the ready queue, as a closed AMQP channel does. */
  async close(): Promise<void> {
    await this.cancel();
    await Promise.allSettled([...this.pendingOps]);
    this.stuck.clear(); // everything left in the claimed dir is requeued below
    this.outstanding.clear(); // later ack/reject of these deliveries become no-ops
    this.unacked = 0;
    let names: string[] = [];
    try {
      names = await readdir(this.claimedDir);
    } catch (err) {
      ignoreGone(err);
    }
    for (const n of names) {
      try {
        this.requeue(n);
      } catch (err) {
        this.host.reportError(err);
      }
    }
    await rmdir(this.claimedDir).catch(() => {});
  }

  private tick(): void {
    for (const name of this.stuck) {
      try {
        this.requeue(name);
        this.stuck.delete(name);
      } catch {
        break; // still failing: try again next tick (reported once already)
      }
    }
    this.maybeRemoveDir();
    if (!this.active) return;
    this.feed
      .tick()
      .then(async (replaced) => {
        // The queue was deleted and declared again: our claimed dir went with the old one.
        if (replaced && this.active) await mkdir(this.claimedDir, { recursive: true });
      })
      .catch((err: unknown) => this.host.reportError(err));
  }

  private hasRoom(): boolean {
    return this.options.noAck === true || this.options.prefetch <= 0 || this.unacked < this.options.prefetch;
  }

  private schedulePump(): void {
    if (!this.active) return;
    this.pumpAgain = true;
    if (this.pumping) return; // the running pump sees pumpAgain
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.pumpAgain) this.schedulePump();
    });
  }

  private async pump(): Promise<void> {
    let claims = 0;
    while (this.pumpAgain && this.active) {
      this.pumpAgain = false;
      while (this.active && this.hasRoom()) {
        const name = await this.feed.next();
        if (name === undefined || !this.active) break;
        try {
          this.claim(name);
        } catch (err) {
          this.host.reportError(err);
        }
        if (++claims % CLAIMS_PER_TURN === 0) await new Promise<void>((r) => setImmediate(r));
      }
    }
  }

  private claim(name: string): void {
    const claimed = path.join(this.claimedDir, name);
    this.feed.markGone(name);
    try {
      renameSync(path.join(this.readyDir, name), claimed);
    } catch (err) {
      ignoreGone(err); // another consumer won, or the queue is gone
      return;
    }
    this.feed.markDirty(); // progress: when the list runs dry, look again
    let message: StoredMessage;
    try {
      message = decodeMessage(readFileSync(claimed), claimed);
    } catch (err) {
      if (isGone(err)) return; // queue deleted under us
      this.host.reportError(err); // corrupt file: it cannot be delivered, and must not loop
      unlinkGone(claimed);
      return;
    }
    if (this.isExpired(name, message)) {
      this.track(this.deadLetterOrDrop(claimed, message, this.meta));
      return;
    }
    const redelivered = (parseMessageName(name)?.generation ?? 0) > 0;
    if (this.options.noAck) {
      unlinkGone(claimed);
      this.deliver(message, redelivered, () => {});
      return;
    }
    this.outstanding.add(name);
    this.unacked++;
    this.deliver(message, redelivered, (how) => this.settle(name, how, message));
  }

  private isExpired(name: string, m: StoredMessage): boolean {
    const enqueuedAt = parseMessageName(name)?.enqueuedAt ?? Date.now();
    const perMessage = m.properties.expiration === undefined ? NaN : Number(m.properties.expiration);
    const ttls = [this.meta.messageTtlMs ?? NaN, perMessage].filter((t) => Number.isFinite(t));
    return ttls.length > 0 && Date.now() - enqueuedAt >= Math.min(...ttls);
  }

  private deliver(m: StoredMessage, redelivered: boolean, settle: (how: 'ack' | 'requeue' | 'drop') => void | Promise<void>): void {
    const delivery: Delivery = {
      body: m.body,
      headers: m.headers,
      properties: m.properties,
      exchange: m.exchange,
      routingKey: m.routingKey,
      redelivered,
      // A claim survives anything short of the process dying, so a file delivery never goes stale.
      stale: false,
      ack: () => settle('ack'),
      reject: (requeue: boolean) => void settle(requeue ? 'requeue' : 'drop'),
    };
    try {
      const r: unknown = this.handler(delivery);
      // The port's handler returns void, but an async handler's rejection must not go unhandled.
      if (r instanceof Promise) r.catch((err: unknown) => this.host.reportError(err));
    } catch (err) {
      // The message stays claimed (unacked): it returns on close or crash recovery, never lost.
      this.host.reportError(err);
    }
  }

  private settle(name: string, how: 'ack' | 'requeue' | 'drop', m: StoredMessage): void | Promise<void> {
    if (!this.outstanding.has(name)) return; // settled already, or returned by close()
    const claimed = path.join(this.claimedDir, name);
    if (how === 'ack') {
      try {
        unlinkGone(claimed);
      } catch (err) {
        // The message is still claimed and still this delivery's: the caller may requeue it or
        // ack again. An early-ack worker must not run it (issue 13.6).
        this.host.reportError(err);
        const failed = Promise.reject(new BrokerError(`ack failed, the message is still held: ${(err as Error).message}`, { cause: err }));
        failed.catch(() => undefined); // callers that do not wait must not crash on it
        return failed;
      }
    }
    this.outstanding.delete(name);
    this.unacked--;
    if (how === 'requeue') {
      try {
        this.requeue(name);
      } catch (err) {
        this.host.reportError(err);
        this.stuck.add(name); // retried on every tick until it is back in ready/
      }
    }
    if (how === 'drop') this.track(this.host.queues.meta(this.queue).then((meta) => this.deadLetterOrDrop(claimed, m, meta ?? this.meta)));
    this.schedulePump();
    this.maybeRemoveDir();
  }

  private requeue(name: string): void {
    const to = requeuedName(name);
    try {
      renameSync(path.join(this.claimedDir, name), path.join(this.readyDir, to));
    } catch (err) {
      ignoreGone(err);
      return;
    }
    this.host.offer(this.queue, to);
  }

  private async deadLetterOrDrop(claimed: string, m: StoredMessage, meta: QueueMeta): Promise<void> {
    if (meta.deadLetterExchange !== undefined) {
      try {
        await this.host.deadLetter(meta, m);
      } catch (err) {
        this.host.reportError(err); // AMQP drops what it cannot dead-letter; so do we, loudly
      }
    }
    unlinkGone(claimed);
  }

  /** Run a settle operation in the background; close() waits for all of them. */
  private track(op: Promise<unknown>): void {
    const p = op
      .catch((err: unknown) => this.host.reportError(err))
      .finally(() => {
        this.pendingOps.delete(p);
        this.maybeRemoveDir();
      });
    this.pendingOps.add(p);
  }

  /** A cancelled consumer's directory goes once its last delivery is settled. */
  private maybeRemoveDir(): void {
    if (!this.active && this.outstanding.size === 0 && this.pendingOps.size === 0 && this.stuck.size === 0) {
      rmdir(this.claimedDir).catch(() => {});
    }
  }
}

/** unlink, where "already gone" is fine (recovered, purged, or queue deleted meanwhile). */
function unlinkGone(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    ignoreGone(err);
  }
}
