/**
 * Where a consumer learns which message files to try next, without busy polling and without
 * listing the ready directory per message.
 *
 * - fs.watch (inotify) on ready/ reports each file name that appears; it goes straight into
 *   the sorted candidate list. Same-process publishes and requeues `offer` their names directly.
 * - A full readdir happens only when the list is empty AND something suggests there may be more
 *   (`dirty`): at start, after a successful claim (the list "ran dry"), on a watcher event
 *   without a name, and on each safety-poll tick.
 * - Watcher events also fire when files leave the directory; names this consumer already knows
 *   are gone (it claimed them, or lost the race) are remembered for GONE_TTL_MS and ignored.
 *   That is safe because message names are never reused (see message-name.ts).
 * - The tick also re-arms the watcher when ready/ was replaced (queue deleted and redeclared).
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { CandidateList } from './candidates.js';
import { isGone } from './fs-util.js';
import { parseMessageName } from './message-name.js';

/** How long a name seen leaving is remembered, to ignore its late watcher events. */
const GONE_TTL_MS = 3000; // watcher events arrive within ms; this bounds memory at high rates

/** The candidate supply of one consumer; see the module comment. */
export class ReadyFeed {
  private readonly candidates = new CandidateList();
  private readonly gone = new Map<string, number>();
  private dirty = true;
  private offeredDuringRefresh: string[] | undefined;
  private watcher: FSWatcher | undefined;
  private watchedIno: number | undefined;
  private stopped = false;

  /** `wake` is called whenever a new candidate may be available. */
  constructor(
    private readonly readyDir: string,
    /** The watcher keeps the process alive (fs.watch's `persistent`). */
    private readonly persistent: boolean,
    private readonly wake: () => void,
    private readonly reportError: (err: unknown) => void,
  ) {}

  /** Arm the watcher (before the first readdir, so nothing published in between is missed). */
  async start(): Promise<void> {
    try {
      const st = await stat(this.readyDir);
      if (this.stopped) return;
      const w = watch(this.readyDir, { persistent: this.persistent }, (_event, filename) => this.onEvent(filename));
      w.on('error', () => this.unwatch()); // e.g. the queue was deleted; tick() re-arms
      this.watcher = w;
      this.watchedIno = st.ino;
    } catch (err) {
      if (!isGone(err)) this.reportError(err);
    }
  }

  /** Stop watching for good. */
  stop(): void {
    this.stopped = true;
    this.unwatch();
  }

  /** A name known to be ready (same-process publish, requeue, recovery). */
  offer(name: string): void {
    if (this.stopped || this.gone.has(name)) return;
    this.candidates.add(name);
    this.offeredDuringRefresh?.push(name);
    this.wake();
  }

  /** The name was claimed or found missing: never offer it again. */
  markGone(name: string): void {
    this.gone.set(name, Date.now());
  }

  /** Progress was made: when the list runs dry, list the directory again. */
  markDirty(): void {
    this.dirty = true;
  }

  /** The next name to try, listing the directory first if the list ran dry; undefined when idle. */
  async next(): Promise<string | undefined> {
    const name = this.candidates.shift();
    if (name !== undefined || !this.dirty) return name;
    await this.refresh();
    return this.candidates.shift();
  }

  /**
   * Safety poll: forget old gone names, force a readdir on the next `next()`, re-arm the watcher
   * if needed. Resolves true when ready/ was replaced (the caller recreates what it owns there).
   */
  async tick(): Promise<boolean> {
    const cutoff = Date.now() - GONE_TTL_MS;
    for (const [name, at] of this.gone) {
      if (at >= cutoff) break; // insertion order is time order
      this.gone.delete(name);
    }
    this.dirty = true;
    this.wake();
    try {
      const st = await stat(this.readyDir);
      if (this.stopped || (this.watcher && st.ino === this.watchedIno)) return false;
      this.unwatch();
      await this.start();
      return true;
    } catch (err) {
      if (!isGone(err)) this.reportError(err);
      return false;
    }
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.watchedIno = undefined;
  }

  private onEvent(filename: string | null): void {
    if (this.stopped) return;
    if (filename === null) {
      this.dirty = true;
      this.wake();
    } else if (parseMessageName(filename)) {
      this.offer(filename);
    }
  }

  private async refresh(): Promise<void> {
    this.dirty = false;
    this.offeredDuringRefresh = [];
    try {
      // Not filtered by `gone`: a listing is the truth, and a stale name costs one failed rename.
      const names = (await readdir(this.readyDir)).filter((n) => parseMessageName(n));
      const offered = this.offeredDuringRefresh;
      this.candidates.replace(offered.length ? [...new Set([...names, ...offered])] : names);
    } catch (err) {
      if (!isGone(err)) this.reportError(err);
    } finally {
      this.offeredDuringRefresh = undefined;
    }
  }
}
