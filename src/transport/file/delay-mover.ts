/**
 * Delayed messages of the file broker (`publish(..., { delayMs })`): held in the queue's
 * delayed/ directory and renamed into ready/ when due, to the millisecond.
 *
 * ```
 *  publish(delayMs) ─▶ tmp/<owner>.<rand> ─rename─▶ delayed/<due>-<prio>-<seq>-<tag>
 *                      (fsynced when durable, like a ready message; see QueueStore.enqueue)
 *  due ─rename─▶ ready/<prio><due>-<seq>-<tag>.0        (ENOENT: another process moved it)
 * ```
 * Who moves: every process with a consumer on the queue runs one DelayMover for it, however
 * many consumers it has there; rename(2) lets exactly one of several racing processes win.
 * Every connected broker also sweeps all queues from its recovery pass (on connect, then at
 * most every SWEEP_MIN_MS per queue), so due messages reach ready/ and queueSize even where
 * nobody consumes; a queue with a mover here is left to it.
 *
 * How a mover knows what is due, without polling and without a timer per message:
 * - it holds the earliest names in memory, sorted (a name sorts by due time), at most about
 *   WINDOW of them, and a `horizon`: every file whose name sorts at or before it is in the
 *   list (or already gone). So 100,000 tasks due next week cost WINDOW names of memory;
 * - ONE timer, for the earliest due time; when it fires the due names are renamed and the
 *   timer re-armed. delayed/ is listed again only when the list runs out before the horizon;
 * - new files come from fs.watch on delayed/ (other processes) and `offer` (this one); a name
 *   past the horizon is ignored, the next listing finds it;
 * - a safety poll stats delayed/ every POLL_MS: a replaced directory (queue deleted and
 *   declared again) is watched and listed anew; a changed one is listed again at most every
 *   RESCAN_MS (every poll while the watcher is down), for lost watcher events.
 *
 * A move is not fsynced: the bytes were made durable when published, and a rename lost in a
 * power cut leaves the file in delayed/, where it is moved again. The moved message counts as
 * enqueued at its due time (see readyNameOfDelayed): it queues after what was published before
 * that time and its TTL starts then, as after a RabbitMQ delay tier.
 */
import { renameSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { CandidateList } from './candidates.js';
import { POLL_MS } from './consumer.js';
import { errnoOf, ignoreGone, isGone } from './fs-util.js';
import type { Layout } from './layout.js';
import { delayedDueAt, readyNameOfDelayed } from './message-name.js';

/** Names a mover holds in memory (it trims back to this when watcher events pile up). */
const WINDOW = 1024;
/** Safety listing of a changed delayed/ while the watcher works, for lost events. */
const RESCAN_MS = 30_000;
/** Least time between two sweeps of one queue from the recovery pass. */
const SWEEP_MIN_MS = 10_000;
/** Renames between yields to the event loop. */
const MOVES_PER_TURN = 64;
/** setTimeout's limit; a longer wait is re-armed when the timer fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Sorts after every delayed name (digits and '-'): "no horizon, the whole directory is known". */
const EVERYTHING = '~';
/** Our own moves remembered to ignore their watcher echo; cleared past this size. */
const MOVED_MEMORY = 10_000;

/** What moving needs from the broker. */
export interface DelayHost {
  readonly layout: Layout;
  /** A message file became ready in `queue`: tell this process's consumers. */
  offer(queue: string, name: string): void;
  reportError(err: unknown): void;
}

/** Delayed messages of one broker: movers for the queues consumed here, sweeps for the rest. */
export class DelayedMessages {
  private readonly movers = new Map<string, { mover: DelayMover; users: number }>();
  private readonly swept = new Map<string, { ino: number; mtimeMs: number; nextDue: number; at: number }>();

  constructor(private readonly host: DelayHost) {}

  /** A consumer of `queue` started here: keep its delayed messages moving on time. */
  attach(queue: string): void {
    let entry = this.movers.get(queue);
    if (!entry) {
      entry = { mover: new DelayMover(this.host, queue), users: 0 };
      this.movers.set(queue, entry);
      entry.mover.start();
    }
    entry.users++;
  }

  /** A consumer of `queue` stopped; the last one stops the mover. */
  detach(queue: string): void {
    const entry = this.movers.get(queue);
    if (!entry || --entry.users > 0) return;
    entry.mover.stop();
    this.movers.delete(queue);
  }

  /** A delayed message was published from this process. */
  offer(queue: string, name: string): void {
    this.movers.get(queue)?.mover.offer(name);
  }

  /**
   * Recovery pass: move what is due in `queue` unless a mover here does. Lists delayed/ only on
   * the first call and then when it changed or something is due, at most every SWEEP_MIN_MS.
   */
  async sweep(queue: string): Promise<void> {
    if (this.movers.has(queue)) return;
    const dir = this.host.layout.delayed(queue);
    let st: Stats;
    try {
      st = await stat(dir);
    } catch (err) {
      ignoreGone(err);
      this.swept.delete(queue);
      return;
    }
    const now = Date.now();
    const last = this.swept.get(queue);
    if (last?.ino === st.ino && (now - last.at < SWEEP_MIN_MS || (last.mtimeMs === st.mtimeMs && now < last.nextDue))) return;
    const list = new CandidateList();
    list.replace(await listDelayed(dir));
    await moveDue(this.host, queue, list);
    this.swept.set(queue, { ino: st.ino, mtimeMs: st.mtimeMs, nextDue: dueOf(list.peek()) ?? Infinity, at: now });
  }

  /** Stop every mover (the broker is closing). */
  stop(): void {
    for (const { mover } of this.movers.values()) mover.stop();
    this.movers.clear();
  }
}

/** Moves the due messages of one queue on time; see the module comment. */
class DelayMover {
  private readonly dir: string;
  private readonly upcoming = new CandidateList();
  private horizon = EVERYTHING;
  private readonly movedHere = new Set<string>();
  private needScan = true;
  private offeredDuringScan: string[] | undefined;
  private again = false;
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDue: number | undefined;
  private poll: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private watchFailed = false;
  /** Inode of delayed/ as last seen, to notice the queue being deleted and declared again. */
  private dirIno: number | undefined;
  private scannedMtime: number | undefined;
  private lastScanAt = 0;
  private stopped = false;

  constructor(
    private readonly host: DelayHost,
    private readonly queue: string,
  ) {
    this.dir = host.layout.delayed(queue);
  }

  start(): void {
    // Queues declared before delayed/ existed get it here; ENOENT = the queue is gone (for now).
    const ready = mkdir(this.dir).catch((err: unknown) => {
      if (errnoOf(err) !== 'EEXIST') ignoreGone(err);
    });
    const check = (): Promise<void> => this.check().catch((err: unknown) => this.host.reportError(err));
    void ready.then(check, (err: unknown) => this.host.reportError(err));
    this.poll = setInterval(() => void check(), POLL_MS).unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.poll);
    clearTimeout(this.timer);
    this.unwatch();
  }

  /** A delayed file name that appeared (watcher event or same-process publish). */
  offer(name: string): void {
    if (this.stopped || this.movedHere.delete(name) || delayedDueAt(name) === undefined) return;
    this.offeredDuringScan?.push(name);
    if (name > this.horizon) return; // the next listing finds it
    this.upcoming.add(name);
    if (this.upcoming.size > 2 * WINDOW) {
      this.upcoming.truncate(WINDOW);
      this.horizon = this.upcoming.last() ?? EVERYTHING;
    }
    if (!this.running) this.arm();
  }

  /** Safety poll (and start): notice a new or replaced directory, a dead watcher, lost events. */
  private async check(): Promise<void> {
    let st: Stats;
    try {
      st = await stat(this.dir);
    } catch (err) {
      ignoreGone(err); // queue deleted: forget it all until a directory appears again
      this.unwatch();
      this.dirIno = undefined;
      this.upcoming.clear();
      this.horizon = EVERYTHING;
      this.arm();
      return;
    }
    if (this.stopped) return;
    const replaced = st.ino !== this.dirIno;
    if (replaced || !this.watcher) {
      this.unwatch();
      this.watch();
      this.dirIno = st.ino;
    }
    const changed = st.mtimeMs !== this.scannedMtime;
    if (replaced || (changed && (!this.watcher || Date.now() - this.lastScanAt >= RESCAN_MS))) {
      this.needScan = true;
      this.kick();
    }
  }

  private watch(): void {
    try {
      const w = watch(this.dir, { persistent: false }, (_event, filename) => {
        if (filename !== null) return this.offer(filename);
        this.needScan = true; // the kernel did not say which file: list again
        this.kick();
      });
      w.on('error', () => this.unwatch()); // the poll re-arms it
      this.watcher = w;
      this.watchFailed = false;
    } catch (err) {
      // Out of inotify watches, say: the poll lists the directory meanwhile. Said once.
      if (!isGone(err) && !this.watchFailed) this.host.reportError(err);
      this.watchFailed = true;
    }
  }

  private unwatch(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /** Run the move loop now (or once more, if it is running). */
  private kick(): void {
    if (this.stopped) return;
    this.again = true;
    if (this.running) return;
    this.running = this.loop()
      .catch((err: unknown) => this.host.reportError(err))
      .finally(() => {
        this.running = undefined;
        if (this.again) this.kick();
        else this.arm();
      });
  }

  private async loop(): Promise<void> {
    while (this.again && !this.stopped) {
      this.again = false;
      if (this.needScan) await this.scan();
      await moveDue(this.host, this.queue, this.upcoming, this.movedHere);
      if (this.movedHere.size > MOVED_MEMORY) this.movedHere.clear();
      // The window ran out but more files lie past it: list again.
      if (this.upcoming.size === 0 && this.horizon !== EVERYTHING) this.needScan = this.again = true;
    }
  }

  private async scan(): Promise<void> {
    this.needScan = false;
    this.offeredDuringScan = [];
    try {
      const st = await stat(this.dir).catch(() => undefined); // before listing: a later change shows
      const names = await listDelayed(this.dir);
      this.upcoming.replace(names.slice(0, WINDOW));
      this.horizon = names.length > WINDOW ? (names[WINDOW - 1] ?? EVERYTHING) : EVERYTHING;
      for (const n of this.offeredDuringScan) if (n <= this.horizon) this.upcoming.add(n);
      this.scannedMtime = st?.mtimeMs;
      this.lastScanAt = Date.now();
    } finally {
      this.offeredDuringScan = undefined;
    }
  }

  /** One timer, for the earliest due time. */
  private arm(): void {
    const due = this.stopped ? undefined : dueOf(this.upcoming.peek());
    if (due === this.timerDue) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDue = due;
    if (due === undefined) return;
    const fire = (): void => {
      this.timer = undefined;
      this.timerDue = undefined;
      this.kick();
    };
    this.timer = setTimeout(fire, Math.min(Math.max(due - Date.now(), 0), MAX_TIMER_MS)).unref();
  }
}

/** The delayed file names of a directory in due order ([] when it does not exist). */
async function listDelayed(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => delayedDueAt(n) !== undefined).sort();
  } catch (err) {
    ignoreGone(err);
    return [];
  }
}

function dueOf(name: string | undefined): number | undefined {
  return name === undefined ? undefined : delayedDueAt(name);
}

/** Move the due names at the front of `list` into ready/, yielding now and then. */
async function moveDue(host: DelayHost, queue: string, list: CandidateList, moved?: Set<string>): Promise<void> {
  let count = 0;
  for (let name = list.peek(); name !== undefined && (dueOf(name) ?? 0) <= Date.now(); name = list.peek()) {
    list.shift();
    const target = readyNameOfDelayed(name);
    if (target === undefined) continue;
    try {
      renameSync(path.join(host.layout.delayed(queue), name), path.join(host.layout.ready(queue), target));
    } catch (err) {
      ignoreGone(err); // another process moved it first, or the queue was deleted
      continue;
    }
    moved?.add(name);
    host.offer(queue, target);
    if (++count % MOVES_PER_TURN === 0) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
