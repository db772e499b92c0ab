/**
 * The file driver's consumer of one queue: wakes on inotify, claims message files by rename(2)
 * into its own claimed directory while the virtual layer gives it credit, and hands them up.
 * What settling means (prefetch, expiry, dead-lettering) is the layer's (virtual-consumer.ts);
 * this only moves files.
 *
 * Life of a message file, as this consumer sees it:
 * ```
 *  ready/<base>.<g> ──rename──▶ claimed/<tag>/<base>.<g>   (ENOENT: another consumer won)
 *      │ noAck ──▶ unlinked, then handed up
 *      └──▶ handed up ──settle 'ack' / 'remove'──▶ unlinked
 *                     ├─settle 'requeue'────────▶ ready/<base>.<g+1>
 *                     └─close()─────────────────▶ ready/<base>.<g+1>
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
import { BrokerError } from '../../core/errors.js';
import type { ConsumerSink, DriverConsumer, Settlement } from '../virtual/driver.js';
import { ignoreGone, isGone } from './fs-util.js';
import type { Layout } from './layout.js';
import { decodeMessage, type StoredMessage } from './message-codec.js';
import { parseMessageName, requeuedName } from './message-name.js';
import { SELF_OWNER } from './owner.js';
import { ReadyFeed } from './ready-feed.js';

/** Safety poll period: covers lost inotify events and watcher failures. */
export const POLL_MS = 1000;
/** Claims between yields to the event loop, so a big backlog with prefetch 0 cannot starve it. */
const CLAIMS_PER_TURN = 64;

let consumerSeq = 0;

/** What a consumer needs from its driver. */
export interface ConsumerHost {
  readonly layout: Layout;
  /** Watchers and polls do not keep the process alive. */
  readonly idleUnref: boolean;
  /** A message file became ready in `queue`: tell this process's consumers of it. */
  offer(queue: string, name: string): void;
  /** The consumer stopped; drop it from the driver's registry. */
  forget(consumer: FileConsumer): void;
  /** Background trouble, logged once per condition (read-only or full disk). */
  reportError(err: unknown): void;
}

/** One consumer; created and started by FileDriver.consume. Handles are message file names. */
export class FileConsumer implements DriverConsumer {
  /** Consumer tag, also the name of its claimed directory (starts with the owner id). */
  readonly tag = `${SELF_OWNER}-c${++consumerSeq}`;
  private readonly readyDir: string;
  private readonly claimedDir: string;
  private readonly feed: ReadyFeed;
  /** Claimed and handed-up names not yet settled (the layer counts them against prefetch). */
  private readonly outstanding = new Set<string>();
  /** Claimed files whose requeue failed (read-only or full disk): retried on every tick. */
  private readonly stuck = new Set<string>();
  private active = false;
  private pumpAgain = false;
  private pumping: Promise<void> | undefined;
  private poll: NodeJS.Timeout | undefined;

  constructor(
    private readonly host: ConsumerHost,
    readonly queue: string,
    private readonly noAck: boolean,
    private readonly sink: ConsumerSink,
  ) {
    this.readyDir = host.layout.ready(queue);
    this.claimedDir = path.join(host.layout.claimedRoot(queue), this.tag);
    this.feed = new ReadyFeed(
      this.readyDir,
      !host.idleUnref,
      () => this.wake(),
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
    this.wake();
  }

  /** A new ready file name from this process (publish, requeue, recovery). */
  offer(name: string): void {
    if (this.active) this.feed.offer(name);
  }

  /** DriverConsumer: credit grew, or a new candidate may be there. */
  wake(): void {
    if (!this.active) return;
    this.pumpAgain = true;
    if (this.pumping) return; // the running pump sees pumpAgain
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      if (this.pumpAgain) this.wake();
    });
  }

  /**
   * DriverConsumer: a failed ack rejects and leaves the file claimed, so an early-ack worker
   * does not start a task whose ack did not happen (issue 13.6); a failed requeue is retried on
   * every tick until the file is back in ready/ (the layer has nobody to hand that failure to).
   */
  settle(handle: unknown, how: Settlement): void | Promise<void> {
    const name = handle as string;
    if (!this.outstanding.has(name)) return; // returned by close() meanwhile
    if (how !== 'requeue') {
      try {
        unlinkGone(path.join(this.claimedDir, name));
      } catch (err) {
        if (how === 'remove') {
          // Stays claimed: it comes back on close or crash recovery, as a dropped ack would.
          this.host.reportError(err);
        } else {
          return Promise.reject(new BrokerError(`ack failed, the message is still held: ${(err as Error).message}`, { cause: err }));
        }
      }
    }
    this.outstanding.delete(name);
    if (how === 'requeue') {
      try {
        this.requeue(name);
      } catch (err) {
        this.host.reportError(err);
        this.stuck.add(name);
      }
    }
    this.maybeRemoveDir();
  }

  /** Stop receiving; handed-up deliveries stay settleable. */
  async cancel(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.feed.stop();
    clearInterval(this.poll);
    this.host.forget(this);
    await this.pumping; // let the pump notice and stop
    this.maybeRemoveDir();
  }

  /** Cancel, then return every unsettled delivery to the ready queue, as a closed AMQP channel does. */
  async close(): Promise<void> {
    await this.cancel();
    this.stuck.clear(); // everything left in the claimed dir is requeued below
    this.outstanding.clear();
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

  private async pump(): Promise<void> {
    let claims = 0;
    while (this.pumpAgain && this.active) {
      this.pumpAgain = false;
      while (this.active && this.sink.credit() > 0) {
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
    const parsed = parseMessageName(name);
    if (this.noAck) unlinkGone(claimed);
    else this.outstanding.add(name);
    this.sink.deliver({
      exchange: message.exchange,
      routingKey: message.routingKey,
      headers: message.headers,
      properties: message.properties,
      body: message.body,
      handle: name,
      redelivered: (parsed?.generation ?? 0) > 0,
      enqueuedAt: parsed?.enqueuedAt,
    });
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

  /** A cancelled consumer's directory goes once its last delivery is settled. */
  private maybeRemoveDir(): void {
    if (!this.active && this.outstanding.size === 0 && this.stuck.size === 0) {
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
