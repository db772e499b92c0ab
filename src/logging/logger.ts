/**
 * pino loggers: JSON lines by default (for log shippers), readable lines when stdout is a
 * terminal. pino-pretty runs in-process as a stream, not as a worker-thread transport, so a
 * short-lived `celeryts call` does not pay for a thread.
 */
import { createRequire } from 'node:module';
import pino, { type Logger } from 'pino';
import { batchedSink } from './batched-sink.js';

export type { Logger };

/** Logger options. */
export interface LoggerOptions {
  level?: string;
  /** Force pretty or JSON; default: pretty when stdout is a TTY. */
  pretty?: boolean;
  /** Where to write (default stdout). */
  destination?: NodeJS.WritableStream;
  name?: string;
}

const require = createRequire(import.meta.url);

/** Make the process logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const pretty = options.pretty ?? Boolean(process.stdout.isTTY);
  const base = { level: options.level ?? 'info', ...(options.name ? { name: options.name } : {}) };
  if (pretty) {
    const pinoPretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
    return pino(base, pinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', singleLine: true, destination: 1, sync: true }));
  }
  // At debug and trace each line is written before the code after it runs, so the log of a
  // worker killed with SIGKILL is complete (which tasks had started and been acked); buffered
  // writes are faster but lose their tail in a crash. Above that, lines go out in batches
  // every few milliseconds (see batched-sink.ts for why not sonic-boom's asynchronous mode).
  const sync = base.level === 'debug' || base.level === 'trace';
  return pino(base, options.destination ?? (sync ? pino.destination({ dest: 1, sync }) : batchedSink(1)));
}

/** A logger that drops everything (library use without logging). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
