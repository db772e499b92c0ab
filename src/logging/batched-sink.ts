/**
 * Where JSON log lines go when they need not be written one by one: lines are joined and
 * written together every few milliseconds (or at once when many are waiting), and whatever
 * is left when the process exits is written then.
 *
 * Why not pino.destination({ sync: false }) (sonic-boom): a worker logs two lines per task
 * (received, succeeded), tens of thousands a second. sonic-boom's asynchronous mode measures
 * its whole pending buffer (Buffer.byteLength of a growing string) on every line and writes
 * from the thread pool; that cost about 7 µs a task in the bench (bench/, BENCHMARKS.md), a
 * third of a no-op task's budget. A joined synchronous write every 10 ms costs well under
 * 1 µs a task, never reorders lines and leaves nothing in flight at exit. A line reaches
 * stdout at most FLUSH_MS late.
 *
 * The write is synchronous: a reader slower than the log slows the worker down (as pino's
 * sync mode does) instead of growing memory without bound.
 */
import { writeSync } from 'node:fs';

/** The longest a line waits. */
const FLUSH_MS = 10;
/** Write at once when this many characters are waiting. */
const FLUSH_CHARS = 64 * 1024;
/** Wait this long when a non-blocking descriptor is full (EAGAIN), as sonic-boom does. */
const BUSY_WRITE_MS = 100;

/** One sink per file descriptor, shared by every logger of the process (and one exit hook). */
const sinks = new Map<number, BatchedSink>();

/** The shared sink for `fd` (1: stdout). */
export function batchedSink(fd = 1): BatchedSink {
  let sink = sinks.get(fd);
  if (!sink) {
    sink = new BatchedSink(fd);
    sinks.set(fd, sink);
    if (sinks.size === 1)
      process.once('exit', () => {
        for (const s of sinks.values()) s.flushSync();
      });
  }
  return sink;
}

/** A pino destination (anything with write(string)) that writes in batches; see the file comment. */
export class BatchedSink {
  readonly #fd: number;
  #lines: string[] = [];
  #chars = 0;
  #timer: NodeJS.Timeout | undefined;
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.flushSync();
  };

  constructor(fd: number) {
    this.#fd = fd;
  }

  /** Queue a line (pino passes whole lines, newline included). */
  write(line: string): boolean {
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= FLUSH_CHARS) this.flushSync();
    else this.#timer ??= setTimeout(this.#onTimer, FLUSH_MS).unref();
    return true;
  }

  /** Write everything queued now (pino's logger.flush() and process exit call this). */
  flushSync(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lines.length === 0) return;
    let data = Buffer.from(this.#lines.length === 1 ? this.#lines[0]! : this.#lines.join(''));
    this.#lines = [];
    this.#chars = 0;
    while (data.length > 0) {
      try {
        data = data.subarray(writeSync(this.#fd, data));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, BUSY_WRITE_MS);
      }
    }
  }

  /** pino's logger.flush(cb). */
  flush(cb?: (err?: Error) => void): void {
    try {
      this.flushSync();
    } catch (err) {
      cb?.(err as Error);
      return;
    }
    cb?.();
  }
}
