/**
 * Queues on disk: declaring, reading options, deleting, counting and purging, and putting
 * published messages into ready directories.
 *
 * A queue is created by building `meta.json`, `ready/` and `claimed/` under tmp/ and renaming
 * the whole directory into queues/, so a queue either fully exists or does not. It is deleted by
 * renaming it into trash/ first: publishers and consumers in other processes then see ENOENT at
 * once (a message routed to it is dropped, as AMQP drops it) while the tree is removed.
 */
import { linkSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { QueueOptions } from '../../core/broker.js';
import { BrokerError } from '../../core/errors.js';
import { DirSyncer, errnoOf, fsyncDir, ignoreGone, isGone, makeDirSync, removeTree, replaceAtomic, stagingPath } from './fs-util.js';
import { checkName, type Layout } from './layout.js';
import { newDelayedName, newMessageName, parseMessageName } from './message-name.js';
import { SELF_OWNER, type Liveness } from './owner.js';

/** What meta.json holds: the declared options, and the owning process for owned queues. */
export interface QueueMeta {
  v: 1;
  name: string;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  expiresMs?: number;
  messageTtlMs?: number;
  maxPriority?: number;
  deadLetterExchange?: string;
  deadLetterRoutingKey?: string;
  /** Set for exclusive/autoDelete/expiring queues: removed once this process is gone. */
  owner?: string;
}

/** Queues that live only as long as the process that declared them. */
export function isOwnedQueue(o: QueueOptions): boolean {
  return o.exclusive === true || o.autoDelete === true || o.expiresMs !== undefined;
}

/** How long publishers trust a cached meta.json: options never change while a queue exists. */
const META_CACHE_MS = 1000;

/** A message file placed into one queue. */
export interface Enqueued {
  queue: string;
  name: string;
}

/** Queue operations on one broker directory. */
export class QueueStore {
  private readonly metaCache = new Map<string, { meta: QueueMeta; at: number }>();
  private readonly dirSyncer = new DirSyncer();

  constructor(
    private readonly layout: Layout,
    private readonly liveness: Liveness,
  ) {}

  /**
   * Declare a queue (idempotent; the first declaration's options win, as in AMQP without the
   * mismatch error). Redeclaring an owned queue whose owner died adopts it, so a worker restarted
   * under the same node name keeps its pidbox queue instead of losing it to recovery.
   */
  async declare(name: string, options: QueueOptions = {}): Promise<QueueMeta> {
    checkName('queue', name);
    for (let attempt = 0; attempt < 5; attempt++) {
      const existing = await this.meta(name, 0);
      if (existing) {
        if (existing.owner && existing.owner !== SELF_OWNER && !(await this.liveness.isAlive(existing.owner))) {
          const adopted: QueueMeta = { ...existing, owner: SELF_OWNER };
          await replaceAtomic(this.layout.tmp, this.layout.queueMeta(name), JSON.stringify(adopted));
          this.metaCache.set(name, { meta: adopted, at: Date.now() });
          return adopted;
        }
        return existing;
      }
      const meta = metaFrom(name, options);
      const staged = stagingPath(this.layout.tmp);
      try {
        await mkdir(path.join(staged, 'ready'), { recursive: true });
        await mkdir(path.join(staged, 'claimed'));
        await mkdir(path.join(staged, 'delayed'));
        await writeFile(path.join(staged, 'meta.json'), JSON.stringify(meta), { flush: meta.durable });
      } catch (err) {
        await removeTree(staged); // a full disk must not leave half-built queues behind
        throw err;
      }
      try {
        await rename(staged, this.layout.queueDir(name));
        if (meta.durable) await fsyncDir(this.layout.queues);
        this.metaCache.set(name, { meta, at: Date.now() });
        return meta;
      } catch (err) {
        await removeTree(staged);
        // Another process created it first: loop to read theirs.
        if (errnoOf(err) !== 'EEXIST' && errnoOf(err) !== 'ENOTEMPTY') throw err;
      }
    }
    throw new BrokerError(`Could not declare queue '${name}': it keeps being created and deleted concurrently`);
  }

  /** The queue's meta, or undefined if it does not exist. `maxAgeMs` 0 forces a fresh read. */
  async meta(name: string, maxAgeMs = META_CACHE_MS): Promise<QueueMeta | undefined> {
    const hit = this.metaCache.get(name);
    if (hit && Date.now() - hit.at < maxAgeMs) return hit.meta;
    try {
      const meta = JSON.parse(await readFile(this.layout.queueMeta(name), 'utf8')) as QueueMeta;
      this.metaCache.set(name, { meta, at: Date.now() });
      return meta;
    } catch (err) {
      this.metaCache.delete(name);
      if (isGone(err)) return undefined;
      throw err;
    }
  }

  /** Delete a queue and everything in it; false if it did not exist. */
  async delete(name: string): Promise<boolean> {
    this.metaCache.delete(name);
    const trashed = stagingPath(this.layout.trash);
    try {
      await rename(this.layout.queueDir(name), trashed);
    } catch (err) {
      ignoreGone(err);
      return false;
    }
    await removeTree(trashed);
    return true;
  }

  /** Ready messages, or undefined when the queue does not exist. Not for the hot path. */
  async size(name: string): Promise<number | undefined> {
    try {
      return (await readdir(this.layout.ready(name))).filter((n) => parseMessageName(n)).length;
    } catch (err) {
      ignoreGone(err);
      return undefined;
    }
  }

  /** Remove all ready messages; counts the ones this call removed (a racing consumer may win some). */
  async purge(name: string): Promise<number> {
    const dir = this.layout.ready(name);
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => parseMessageName(n));
    } catch (err) {
      ignoreGone(err);
      return 0;
    }
    const removed = await Promise.all(
      names.map((n) =>
        unlink(path.join(dir, n)).then(
          () => 1,
          () => 0,
        ),
      ),
    );
    return removed.reduce<number>((a, b) => a + b, 0);
  }

  /**
   * Put one message into each target queue. The bytes are written once to a staging file
   * (fsynced when `durable`), then renamed into the only target or hard-linked into several,
   * which makes each copy appear atomically. Targets that vanished meanwhile are skipped.
   * With `durable`, resolves after the target directories are fsynced too. With `dueAt`, the
   * copies go to delayed/ instead of ready/, named to be moved at that time (delay-mover.ts).
   */
  async enqueue(targets: readonly QueueMeta[], bytes: Buffer, priority: number | undefined, durable: boolean, dueAt?: number): Promise<Enqueued[]> {
    if (targets.length === 0) return [];
    const dirOf = (queue: string): string => (dueAt === undefined ? this.layout.ready(queue) : this.layout.delayed(queue));
    const staged = stagingPath(this.layout.tmp);
    // Sync calls on purpose (see consumer.ts): only the fsyncs are worth a threadpool hop.
    try {
      if (durable) await writeFile(staged, bytes, { flush: true });
      else writeFileSync(staged, bytes);
    } catch (err) {
      // A full disk leaves a partial (often empty) staging file: never keep it (issue 13.7).
      try {
        unlinkSync(staged);
      } catch {
        // not created at all
      }
      throw err;
    }
    const done: Enqueued[] = [];
    const only = targets.length === 1;
    try {
      for (const q of targets) {
        const name = dueAt === undefined ? newMessageName(priority, q.maxPriority) : newDelayedName(dueAt, priority, q.maxPriority);
        const place = (): void => (only ? renameSync : linkSync)(staged, path.join(dirOf(q.name), name));
        try {
          try {
            place();
          } catch (err) {
            // A queue declared before delayed/ existed gets it on first use; ENOENT again = gone.
            if (dueAt === undefined || !isGone(err)) throw err;
            makeDirSync(dirOf(q.name));
            place();
          }
          done.push({ queue: q.name, name });
        } catch (err) {
          ignoreGone(err); // queue deleted after routing
        }
      }
    } finally {
      if (!only || done.length === 0) {
        try {
          unlinkSync(staged);
        } catch {
          // harmless leftover; recovery removes it once this process is gone
        }
      }
    }
    if (durable) {
      const dirs = done.filter((d) => targets.find((q) => q.name === d.queue)?.durable).map((d) => dirOf(d.queue));
      await Promise.all(dirs.map((d) => this.dirSyncer.sync(d)));
    }
    return done;
  }
}

function metaFrom(name: string, o: QueueOptions): QueueMeta {
  const meta: QueueMeta = {
    v: 1,
    name,
    durable: o.durable ?? true,
    exclusive: o.exclusive ?? false,
    autoDelete: o.autoDelete ?? false,
  };
  if (o.expiresMs !== undefined) meta.expiresMs = o.expiresMs;
  if (o.messageTtlMs !== undefined) meta.messageTtlMs = o.messageTtlMs;
  if (o.maxPriority !== undefined) meta.maxPriority = o.maxPriority;
  if (o.deadLetterExchange !== undefined) meta.deadLetterExchange = o.deadLetterExchange;
  if (o.deadLetterRoutingKey !== undefined) meta.deadLetterRoutingKey = o.deadLetterRoutingKey;
  if (isOwnedQueue(o)) meta.owner = SELF_OWNER;
  return meta;
}
