/**
 * Drain timing through marker files. A drain queue holds [mark(start), noop x N, mark(end)];
 * whatever runs the tasks writes the wall-clock time (ms) at which each marker ran to the file
 * named in its argument. The bench reads both files: N / (end - start) is the drain rate.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Write now (ms, sub-ms precision) to `path`, atomically (the bench polls for it). */
export function writeMark(path: string): void {
  writeFileSync(`${path}.tmp`, String(performance.timeOrigin + performance.now()));
  renameSync(`${path}.tmp`, path);
}

/** Wait for a marker file; its time in ms. Rejects after `timeoutMs` or when `failed()` says so. */
export async function waitMark(path: string, timeoutMs: number, failed: () => string | undefined = () => undefined): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(path)) {
      const t = Number(readFileSync(path, 'utf8'));
      if (Number.isFinite(t) && t > 0) return t;
    }
    const why = failed();
    if (why) throw new Error(why);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}`);
    await sleep(20);
  }
}
