import type { Command } from 'commander';
import { createApp, type App, type CreateAppOptions } from '../app.js';
import { CeleryTsError } from '../core/errors.js';

/** Options every command shares. */
export interface CommonFlags {
  config?: string;
  broker?: string;
  resultBackend?: string;
  loglevel?: string;
}

/** Add --config, --broker, --result-backend, --loglevel. */
export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--config <path>', 'config file (default: search for celeryts.config.ts and friends)')
    .option('-b, --broker <url>', 'broker URL (overrides config and CELERYTS_BROKER_URL)')
    .option('--result-backend <url>', "result backend: 'rpc://' or 'none'")
    .option('-l, --loglevel <level>', 'log level: fatal, error, warn, info, debug, trace');
}

/** Build the app from flags (flags > env > config file). */
export async function appFromFlags(flags: CommonFlags, extra: CreateAppOptions = {}, defaultLevel?: string): Promise<App> {
  const opts: CreateAppOptions = { ...extra };
  if (flags.config) opts.configFile = flags.config;
  if (flags.broker) opts.brokerUrl = flags.broker;
  if (flags.resultBackend) opts.resultBackend = flags.resultBackend;
  if (flags.loglevel) opts.logLevel = flags.loglevel.toLowerCase() as CreateAppOptions['logLevel'] & string;
  const app = await createApp(opts);
  if (!flags.loglevel && defaultLevel) app.log.level = defaultLevel;
  return app;
}

/** Codes of errors that mean "fix your setup": exit 2, nothing started. */
const USAGE_CODES = new Set([
  'CELERYTS_CONFIG',
  'CELERYTS_MODULE_LOAD',
  'CELERYTS_TASK_NAMING',
  'CELERYTS_INVALID_RATE_LIMIT',
  'CELERYTS_DUPLICATE_NODENAME',
  'CELERYTS_INVALID_SCHEDULE',
]);

/** Print an error the way a user can act on it and return the exit code. */
export function reportError(err: unknown): number {
  if (err instanceof CeleryTsError) {
    process.stderr.write(`celeryts: error [${err.code}]: ${err.message}\n`);
    return USAGE_CODES.has(err.code) ? 2 : 1;
  }
  process.stderr.write(`celeryts: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}
