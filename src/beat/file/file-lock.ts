/**
 * The leader lock on the embedded file broker: numbered lock files in `<dir>/leader/`, the
 * highest one naming the leader. The holder is whoever wrote it, for as long as its process
 * lives: liveness is the file broker's own (owner.ts: pid + start time from /proc, so a
 * SIGKILLed leader is seen dead at the next look, and a reused pid is not mistaken for it).
 *
 *   standby: read the highest file n; its owner alive and not released -> wait.
 *            otherwise create n+1 with link(2) (fails if it exists: one winner per number),
 *            then check n+1 is still the highest (a candidate acting on an old listing may
 *            have created a number someone already passed) -> leader of epoch n+1.
 *   leader:  every poll, check its file is still the highest; on stop, mark it released.
 *
 * Numbers only grow, and the leader removes the lower ones.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { createExclusive, ignoreGone, replaceAtomic } from '../../transport/file/fs-util.js';
import { SELF_OWNER, type Liveness } from '../../transport/file/owner.js';

/** What a lock file holds. */
interface LockFile {
  owner: string;
  at: number;
  released?: boolean;
}

const NUMBER = /^\d{12}$/;
const fileName = (n: number): string => String(n).padStart(12, '0');

/** One instance's handle on the lock directory. */
export class FileLock {
  /** This instance: the process's owner id (for liveness) plus a suffix (two instances in one process differ). */
  readonly owner = `${SELF_OWNER}.beat-${randomBytes(4).toString('hex')}`;

  constructor(
    readonly dir: string,
    private readonly tmp: string,
    private readonly liveness: Liveness,
  ) {}

  async #numbers(): Promise<number[]> {
    try {
      return (await readdir(this.dir))
        .filter((f) => NUMBER.test(f))
        .map(Number)
        .sort((a, b) => a - b);
    } catch (err) {
      ignoreGone(err);
      return [];
    }
  }

  async #read(n: number): Promise<LockFile | undefined> {
    try {
      return JSON.parse(await readFile(path.join(this.dir, fileName(n)), 'utf8')) as LockFile;
    } catch (err) {
      ignoreGone(err);
      return undefined;
    }
  }

  /** Try to take the lock: the epoch won, or undefined when a live instance holds it. */
  async acquire(): Promise<number | undefined> {
    const numbers = await this.#numbers();
    const top = numbers.at(-1);
    if (top !== undefined) {
      const held = await this.#read(top);
      if (!held) return undefined; // removed under us: look again next time
      if (!held.released && (held.owner === this.owner || (await this.liveness.isAlive(held.owner)))) return undefined;
    }
    const epoch = (top ?? 0) + 1;
    const content: LockFile = { owner: this.owner, at: Date.now() };
    if (!(await createExclusive(this.tmp, path.join(this.dir, fileName(epoch)), JSON.stringify(content)))) return undefined;
    if (!(await this.holds(epoch))) {
      await unlink(path.join(this.dir, fileName(epoch))).catch(() => {});
      return undefined;
    }
    for (const n of numbers) if (n < epoch) await unlink(path.join(this.dir, fileName(n))).catch(() => {});
    return epoch;
  }

  /** True while `epoch` is the highest lock file and ours. */
  async holds(epoch: number): Promise<boolean> {
    const top = (await this.#numbers()).at(-1);
    if (top !== epoch) return false;
    const held = await this.#read(epoch);
    return held?.owner === this.owner && !held.released;
  }

  /** Mark our lock released, so a standby need not find us dead first. */
  async release(epoch: number): Promise<void> {
    if (!(await this.holds(epoch))) return;
    const content: LockFile = { owner: this.owner, at: Date.now(), released: true };
    await replaceAtomic(this.tmp, path.join(this.dir, fileName(epoch)), JSON.stringify(content));
  }
}
