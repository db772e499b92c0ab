/**
 * pino loggers: JSON lines by default (for log shippers), readable lines when stderr is a
 * terminal. Logs go to stderr (or a --logfile), never to stdout: stdout carries only a
 * command's answer, so `X=$(celeryts call ...)` captures the task id and nothing else.
 * pino-pretty runs in-process as a stream, not as a worker-thread transport, so a short-lived
 * `celeryts call` does not pay for a thread.
 */
import { mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import pino, { type Logger } from 'pino';
import { batchedSink } from './batched-sink.js';

export type { Logger };

/** Logger options. */
export interface LoggerOptions {
  level?: string;
  /** Force pretty or JSON; default: pretty when logs go to a terminal. */
  pretty?: boolean;
  /** Where to write (default stderr, or `file`). */
  destination?: NodeJS.WritableStream;
  /** Append JSON lines to this file instead of stderr (`--logfile`). */
  file?: string | undefined;
  name?: string;
}

const require = createRequire(import.meta.url);

/** Descriptors of log files opened by this process: one per file, however many loggers write to it. */
const files = new Map<string, number>();

function logFileFd(file: string): number {
  const full = path.resolve(file);
  let fd = files.get(full);
  if (fd === undefined) {
    mkdirSync(path.dirname(full), { recursive: true });
    fd = openSync(full, 'a');
    files.set(full, fd);
  }
  return fd;
}

/** Make the process logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.file ? logFileFd(options.file) : 2;
  const pretty = options.pretty ?? (!options.file && !options.destination && Boolean(process.stderr.isTTY));
  const base = { level: options.level ?? 'info', ...(options.name ? { name: options.name } : {}) };
  if (pretty) {
    const pinoPretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
    return pino(base, pinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true, destination: fd, sync: true }));
  }
  // At debug and trace each line is written before the code after it runs, so the log of a
  // worker killed with SIGKILL is complete (which tasks had started and been acked); buffered
  // writes are faster but lose their tail in a crash. Above that, lines go out in batches
  // every few milliseconds (see batched-sink.ts for why not sonic-boom's asynchronous mode).
  const sync = base.level === 'debug' || base.level === 'trace';
  return pino(base, options.destination ?? (sync ? pino.destination({ dest: fd, sync }) : batchedSink(fd)));
}

/** A logger that drops everything (library use without logging). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
