import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command, CommanderError } from 'commander';
import { createApp, type App, type CreateAppOptions } from '../app.js';
import { CeleryTsError } from '../core/errors.js';
import { maskUrl, maskUrlsIn } from '../util/mask-url.js';
import { collect } from './parse-args.js';

/** Options every command shares (also accepted before the command: `celeryts -A proj.tasks worker`). */
export interface CommonFlags {
  config?: string;
  broker?: string;
  resultBackend?: string;
  loglevel?: string;
}

const LEVEL_HELP = "log level: DEBUG, INFO, WARNING, ERROR, CRITICAL (Celery's names, any case), or trace, warn, fatal, silent";

/** Add --config, --broker, --result-backend, --loglevel. */
export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--config <path>', 'config file (default: search for celeryts.config.ts and friends)')
    .option('-b, --broker <url>', 'broker URL (overrides config and CELERYTS_BROKER_URL)')
    .option('--result-backend <url>', "result backend: 'rpc://', 'redis://host:6379/0' or 'none' (overrides config and CELERYTS_RESULT_BACKEND)")
    .option('-l, --loglevel <level>', LEVEL_HELP);
}

/** The options Celery takes before the command (`celery -A proj -b URL worker`). */
export function addGlobalOptions(root: Command): Command {
  return addCommonOptions(root)
    .option('-A, --app <module>', 'task module to load (repeatable); same as -A after the command', collect)
    .option('--workdir <dir>', 'change to this folder first (config search, relative paths)');
}

/**
 * Wire the root's options into whichever command runs, Celery style: options given before the
 * command apply to it, its own options win, and -A lists add up. Every parse error exits 2.
 * Commands added later inherit all of this without doing anything.
 */
export function applyGlobalOptions(root: Command): Command {
  root.enablePositionalOptions();
  root.hook('preAction', (_root, action) => {
    const globals = root.opts<{ app?: string[]; workdir?: string } & CommonFlags>();
    if (globals.workdir) process.chdir(globals.workdir);
    for (const [key, value] of Object.entries(globals)) {
      if (value === undefined || key === 'workdir') continue;
      const own: unknown = action.getOptionValue(key);
      if (key === 'app') action.setOptionValue(key, [...(value as string[]), ...((own as string[] | undefined) ?? [])]);
      else if (own === undefined) action.setOptionValue(key, value);
    }
  });
  const everywhere = (cmd: Command): void => {
    cmd.exitOverride();
    for (const sub of cmd.commands) everywhere(sub);
  };
  everywhere(root);
  return root;
}

/** A parse error's exit code: 0 for --help and --version, else 2 (usage), as Celery's click does. */
export function exitCodeOf(err: CommanderError): number {
  return err.exitCode === 0 ? 0 : 2;
}

/**
 * `-A` as a shell user means it: a path (`./tasks.ts`, `lib/jobs.ts`) is relative to the
 * current folder when it exists there; anything else is a module name or a path under the root.
 */
export function moduleRefsFromCli(refs: readonly string[] = []): string[] {
  return refs.map((ref) => {
    const looksLikePath = ref.includes('/') || ref.includes(path.sep) || /\.[cm]?[jt]s$/.test(ref);
    const here = path.resolve(ref);
    return looksLikePath && existsSync(here) ? here : ref;
  });
}

/** Build the app from flags (flags > env > config file). */
export async function appFromFlags(flags: CommonFlags, extra: CreateAppOptions = {}, defaultLevel?: string): Promise<App> {
  const opts: CreateAppOptions = { ...extra };
  if (flags.config) opts.configFile = flags.config;
  if (flags.broker) opts.brokerUrl = flags.broker;
  if (flags.resultBackend) opts.resultBackend = flags.resultBackend;
  if (flags.loglevel) opts.logLevel = flags.loglevel as CreateAppOptions['logLevel'] & string;
  if (!flags.loglevel && defaultLevel) opts.logLevel = defaultLevel as CreateAppOptions['logLevel'] & string;
  return createApp(opts);
}

/**
 * One line saying which config and broker a command uses (the most common surprise is a
 * command talking to another broker than the worker). On a terminal it is printed; otherwise it
 * is logged at info (see it with -l info). Always on stderr.
 */
export function announce(app: App, command: string): void {
  const line = `celeryts ${command}: config ${app.config.configFile ?? '(none: defaults)'}, broker ${maskUrl(app.config.brokerUrl)}`;
  if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
  else app.log.info({ config: app.config.configFile ?? null, broker: maskUrl(app.config.brokerUrl) }, line);
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

/** Print an error the way a user can act on it and return the exit code (2 for setup errors, else 1). */
export function reportError(err: unknown): number {
  if (err instanceof CeleryTsError) {
    process.stderr.write(`celeryts: error [${err.code}]: ${maskUrlsIn(err.message)}\n`);
    return USAGE_CODES.has(err.code) ? 2 : 1;
  }
  process.stderr.write(`celeryts: ${maskUrlsIn((err as Error)?.stack ?? String(err))}\n`);
  return 1;
}
