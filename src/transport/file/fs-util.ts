/**
 * Small filesystem primitives the file broker builds on: errno tests, atomic create/replace via
 * a staging file, and grouped directory fsyncs.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { link, open, rename, rm, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SELF_OWNER } from './owner.js';

/** The errno code of a filesystem error, if it is one. */
export function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** True for "it is not there (any more)": the normal outcome of losing a race. */
export function isGone(err: unknown): boolean {
  const code = errnoOf(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Swallow "not there" errors, rethrow the rest. */
export function ignoreGone(err: unknown): void {
  if (!isGone(err)) throw err;
}

/** mkdir of one directory where "already there" is fine; throws ENOENT when its parent is gone. */
export function makeDirSync(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw err;
  }
}

/**
 * A unique path under the staging directory. Names start with this process's owner id so
 * recovery can remove what a crashed process left half-written.
 */
export function stagingPath(tmpDir: string): string {
  return path.join(tmpDir, `${SELF_OWNER}.${randomBytes(6).toString('hex')}`);
}

/**
 * Create `target` with `content` only if it does not exist, never exposing a partial file:
 * write a staging file, then link(2) it into place (link fails with EEXIST, unlike rename).
 * Returns false when the target already existed.
 */
export async function createExclusive(tmpDir: string, target: string, content: string): Promise<boolean> {
  const staged = stagingPath(tmpDir);
  try {
    await writeFile(staged, content, { flush: true });
    await link(staged, target);
    return true;
  } catch (err) {
    if (errnoOf(err) === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(staged).catch(() => {});
  }
}

/** Replace `target` atomically with `content` (readers see the old or the new file, never a mix). */
export async function replaceAtomic(tmpDir: string, target: string, content: string): Promise<void> {
  const staged = stagingPath(tmpDir);
  try {
    await writeFile(staged, content, { flush: true });
    await rename(staged, target);
  } catch (err) {
    await unlink(staged).catch(() => {});
    throw err;
  }
}

/** Remove a file tree, tolerating concurrent removal by another process. */
export async function removeTree(p: string): Promise<void> {
  await rm(p, { recursive: true, force: true, maxRetries: 3 });
}

/** fsync a directory so renames/links into it survive a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

interface Batch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for directory fsyncs: concurrent durable publishes into one queue share a single
 * fsync instead of paying one each. A caller whose rename finished while a sync was already
 * running joins the NEXT sync, because the running one may have started before its rename.
 */
export class DirSyncer {
  private readonly pending = new Map<string, Batch>();
  private readonly running = new Set<string>();

  /** Resolves once an fsync of `dir` that started after this call has completed. */
  sync(dir: string): Promise<void> {
    let batch = this.pending.get(dir);
    if (!batch) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      batch = { promise, resolve, reject };
      this.pending.set(dir, batch);
    }
    if (!this.running.has(dir)) void this.drain(dir);
    return batch.promise;
  }

  private async drain(dir: string): Promise<void> {
    this.running.add(dir);
    try {
      for (let b = this.pending.get(dir); b; b = this.pending.get(dir)) {
        this.pending.delete(dir);
        try {
          await fsyncDir(dir);
          b.resolve();
        } catch (err) {
          // The queue was deleted meanwhile: nothing left to make durable.
          if (isGone(err)) b.resolve();
          else b.reject(err);
        }
      }
    } finally {
      this.running.delete(dir);
    }
  }
}
