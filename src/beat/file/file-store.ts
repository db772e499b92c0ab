/**
 * Beat's store on the embedded file broker, in the broker's own directory so every process
 * using the broker shares it:
 *
 *   <broker>/<prefix>/leader/<n>             lock files (file-lock.ts)
 *   <broker>/<prefix>/state.json             { epoch, state }: written by the leader only
 *   <broker>/<prefix>/entries/<name>.json    one file per stored entry: any process writes its own
 *
 * Every write is a staged file renamed into place (readers see the old or the new content), in
 * the broker's tmp/ so the broker's recovery removes what a crashed writer left half-done.
 */
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LeadershipLostError } from '../../core/errors.js';
import { fsyncDir, ignoreGone, isGone, replaceAtomic, stagingPath } from '../../transport/file/fs-util.js';
import { decodeName, encodeName } from '../../transport/file/layout.js';
import type { Liveness } from '../../transport/file/owner.js';
import type { BeatState } from '../plan.js';
import type { BeatLogger } from '../scheduler.js';
import type { BeatStore, Leadership, PreparedWrite, StoredEntry } from '../store.js';
import { parseState, parseStoredEntry } from '../store-json.js';
import { FileLock } from './file-lock.js';

/** The file store of one broker directory. */
export class FileBeatStore implements BeatStore {
  readonly description: string;
  readonly election: string;
  readonly #dir: string;
  readonly #entries: string;
  readonly #state: string;
  readonly #lock: FileLock;
  readonly #liveness: Liveness;
  #ready: Promise<void> | undefined;

  /** `root` is the broker directory, `tmp` its staging directory, `liveness` its owner checks. */
  constructor(
    readonly root: string,
    private readonly tmp: string,
    liveness: Liveness,
    prefix: string,
    private readonly log: BeatLogger,
  ) {
    this.#dir = path.join(root, encodeName(prefix));
    this.#entries = path.join(this.#dir, 'entries');
    this.#state = path.join(this.#dir, 'state.json');
    this.#lock = new FileLock(path.join(this.#dir, 'leader'), tmp, liveness);
    this.#liveness = liveness;
    this.description = `file://${root} (${encodeName(prefix)}/)`;
    this.election = `lock files in ${encodeName(prefix)}/leader/, held while the leader's process lives`;
  }

  #init(): Promise<void> {
    this.#ready ??= Promise.all([
      mkdir(this.#entries, { recursive: true }),
      mkdir(path.join(this.#dir, 'leader'), { recursive: true }),
      mkdir(this.tmp, { recursive: true }),
    ]).then(() => undefined);
    return this.#ready;
  }

  async entries(): Promise<Map<string, StoredEntry>> {
    await this.#init();
    const out = new Map<string, StoredEntry>();
    const files = (await readdir(this.#entries)).filter((f) => f.endsWith('.json'));
    const read = await Promise.all(
      files.map(async (f) => {
        const name = decodeName(f.slice(0, -5));
        try {
          const stored = parseStoredEntry(name, await readFile(path.join(this.#entries, f), 'utf8'), this.#entries, this.log);
          return stored ? ([name, stored] as const) : undefined;
        } catch (err) {
          if (isGone(err)) return undefined; // removed while listing
          throw err;
        }
      }),
    );
    for (const r of read) if (r) out.set(r[0], r[1]);
    return out;
  }

  async setEntry(name: string, stored: StoredEntry): Promise<void> {
    await this.#init();
    await replaceAtomic(this.tmp, path.join(this.#entries, `${encodeName(name)}.json`), JSON.stringify(stored));
  }

  async removeEntry(name: string): Promise<boolean> {
    await this.#init();
    try {
      await unlink(path.join(this.#entries, `${encodeName(name)}.json`));
      return true;
    } catch (err) {
      ignoreGone(err);
      return false;
    }
  }

  async readState(): Promise<BeatState> {
    let json: string;
    try {
      json = await readFile(this.#state, 'utf8');
    } catch (err) {
      ignoreGone(err);
      return {};
    }
    return parseState(json, this.#state, this.log);
  }

  async tryLead(): Promise<Leadership | undefined> {
    await this.#init();
    const epoch = await this.#lock.acquire();
    return epoch === undefined ? undefined : this.#leadership(epoch);
  }

  #leadership(epoch: number): Leadership {
    const ctl = new AbortController();
    const lock = this.#lock;
    const ensureHeld = async (): Promise<void> => {
      if (ctl.signal.aborted || !(await lock.holds(epoch))) {
        ctl.abort();
        throw new LeadershipLostError(`lock file ${epoch} in ${this.#dir} is no longer this instance's`);
      }
    };
    const stage = async (state: BeatState): Promise<string> => {
      const staged = stagingPath(this.tmp);
      try {
        await writeFile(staged, JSON.stringify({ v: 1, epoch, state }), { flush: true });
      } catch (err) {
        await unlink(staged).catch(() => {}); // a full disk must not keep a half-written file
        throw err;
      }
      return staged;
    };
    // The lock is checked before the rename, not between it and the confirm: on Linux a live
    // leader cannot lose it (liveness is its pid), so the check guards against tampering only.
    const commit = async (staged: string, checked: boolean): Promise<void> => {
      try {
        if (!checked) await ensureHeld();
        if (ctl.signal.aborted) throw new LeadershipLostError('not the leader any more');
        await rename(staged, this.#state);
      } catch (err) {
        await unlink(staged).catch(() => {});
        throw err;
      }
      await fsyncDir(this.#dir).catch(() => {}); // durability across a power cut; the rename is what counts here
    };
    return {
      signal: ctl.signal,
      readState: () => this.readState(),
      writeState: async (state) => commit(await stage(state), false),
      // Staged and the lock checked while the ticks are being sent: after their confirm only a rename remains.
      prepareState: async (state): Promise<PreparedWrite> => {
        const [staged, held] = await Promise.allSettled([stage(state), ensureHeld()]);
        if (staged.status === 'rejected' || held.status === 'rejected') {
          if (staged.status === 'fulfilled') await unlink(staged.value).catch(() => {});
          throw staged.status === 'rejected' ? staged.reason : (held as PromiseRejectedResult).reason;
        }
        return { commit: () => commit(staged.value, true), discard: () => unlink(staged.value).catch(() => {}) };
      },
      entries: () => this.entries(),
      applyEntries: async (set, remove) => {
        for (const [name, stored] of set) await this.setEntry(name, stored);
        for (const name of remove) await this.removeEntry(name);
      },
      refresh: async () => {
        // Where liveness is a lease (no /proc), keep ours fresh even if no file broker runs in this process.
        await this.#liveness.touchLease().catch(() => undefined);
        await ensureHeld().catch(() => undefined);
      },
      release: async () => {
        ctl.abort();
        await lock.release(epoch);
      },
    };
  }

  async close(): Promise<void> {}
}
