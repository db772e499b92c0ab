/**
 * `--pidfile`: the worker's pid in a file for supervisors and scripts, as Celery writes it.
 * A file left by a dead process is replaced; one held by a live process stops the start.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Write this process's pid to `file` and remove it when the process exits. */
export function holdPidfile(file: string): void {
  const full = path.resolve(file);
  let previous: number | undefined;
  try {
    previous = Number.parseInt(readFileSync(full, 'utf8'), 10);
  } catch {
    // no file yet
  }
  if (previous && previous !== process.pid && alive(previous)) {
    throw new ConfigError(`pidfile ${full} belongs to running process ${previous}: is a worker already running? (stop it, or pick another --pidfile)`);
  }
  if (previous !== undefined) unlinkSync(full);
  try {
    writeFileSync(full, `${process.pid}\n`, { flag: 'wx' }); // wx: two workers starting at once cannot both win
  } catch (err) {
    throw new ConfigError(`cannot write pidfile ${full}: ${(err as Error).message}`, { cause: err });
  }
  process.once('exit', () => {
    try {
      if (Number.parseInt(readFileSync(full, 'utf8'), 10) === process.pid) unlinkSync(full);
    } catch {
      // already gone
    }
  });
}
