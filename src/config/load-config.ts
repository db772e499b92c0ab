/**
 * Find and merge the configuration: cosmiconfig('celeryts') file < env < flags.
 * TypeScript config files load through tsx, so celeryts.config.ts needs no build step.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cosmiconfig, type Loader } from 'cosmiconfig';
import { ConfigError } from '../core/errors.js';
import { ensureTsx } from '../loader/tsx.js';
import { importTsConfig } from './ts-config.js';
import { defaults, normalizeLogLevel, validateConfig, validateUserConfig, type Config, type UserConfig } from './schema.js';

/** Where the search starts and what overrides the file. */
export interface LoadConfigOptions {
  /** Explicit config file (--config). */
  configFile?: string;
  /** Directory to search from (default: cwd). */
  cwd?: string;
  /** Values that win over file and env (CLI flags). */
  overrides?: UserConfig;
  /** Environment (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

const importLoader: Loader = async (filepath) => {
  let mod: { default?: unknown } | undefined;
  if (/\.[cm]?ts$/.test(filepath)) {
    mod = await importTsConfig(filepath); // without tsx's loader thread when it can (ts-config.ts)
    if (!mod) await ensureTsx();
  }
  mod ??= (await import(pathToFileURL(filepath).href)) as { default?: unknown };
  // A CommonJS config compiled by tsx arrives as { default: { default: config } }.
  const value: unknown = mod.default ?? mod;
  if (value !== null && typeof value === 'object' && 'default' in value && Object.keys(value).length === 1) {
    return (value as { default: unknown }).default;
  }
  return value;
};

const explorer = () =>
  cosmiconfig('celeryts', {
    searchStrategy: 'project',
    searchPlaces: [
      'package.json',
      'celeryts.config.ts',
      'celeryts.config.mts',
      'celeryts.config.cts',
      'celeryts.config.js',
      'celeryts.config.mjs',
      'celeryts.config.cjs',
      'celeryts.config.json',
      '.celerytsrc',
      '.celerytsrc.json',
    ],
    loaders: { '.ts': importLoader, '.mts': importLoader, '.cts': importLoader, '.js': importLoader, '.mjs': importLoader, '.cjs': importLoader },
  });

/** Read a config file (or search for one) and merge env and overrides into a validated Config. */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  let found: { config: unknown; filepath: string } | null;
  try {
    found = options.configFile ? await explorer().load(path.resolve(cwd, options.configFile)) : await explorer().search(cwd);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const where = options.configFile ? path.resolve(cwd, options.configFile) : ((err as { filepath?: string }).filepath ?? 'config file');
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ConfigError(`config file not found: ${where}`, { cause: err });
    throw new ConfigError(`cannot load ${where}: ${(err as Error).message}`, { cause: err });
  }
  const fileDir = found ? path.dirname(found.filepath) : cwd;
  const fromFile = found ? validateUserConfig(found.config ?? {}, found.filepath) : {};
  const fromEnv: UserConfig = {};
  if (env['CELERYTS_BROKER_URL']) fromEnv.brokerUrl = env['CELERYTS_BROKER_URL'];
  if (env['CELERYTS_RESULT_BACKEND']) fromEnv.resultBackend = env['CELERYTS_RESULT_BACKEND'];
  // A secret belongs in the environment rather than in a config file under version control.
  if (env['CELERYTS_CONTROL_SECRET']) fromEnv.controlSecret = env['CELERYTS_CONTROL_SECRET'];
  validateUserConfig(fromEnv, 'environment');
  const overrides = validateUserConfig(stripUndefined(options.overrides ?? {}), 'command line');
  const merged: UserConfig = { ...fromFile, ...fromEnv, ...overrides };
  return resolveConfig(merged, fileDir, found?.filepath);
}

/** Fill defaults and make paths absolute. Relative file:// broker dirs resolve against the config's folder. */
export function resolveConfig(user: UserConfig, baseDir: string, configFile?: string): Config {
  const d = defaults();
  const root = path.resolve(baseDir, user.root ?? '.');
  // A list becomes Celery's one-string form, which every layer passes around as it is.
  let brokerUrl = Array.isArray(user.brokerUrl) ? user.brokerUrl.join(';') : (user.brokerUrl ?? 'file://.celeryts');
  if (brokerUrl.startsWith('file://') && !brokerUrl.startsWith('file:///')) {
    brokerUrl = `file://${path.resolve(baseDir, brokerUrl.slice('file://'.length))}`;
  }
  const backend = user.resultBackend ?? 'rpc://';
  return validateConfig({
    ...d,
    ...stripUndefined(user as Record<string, unknown>),
    root,
    brokerUrl,
    resultBackend: normalizeBackend(backend),
    logLevel: normalizeLogLevel(user.logLevel) ?? d.logLevel,
    ...(user.logFile !== undefined ? { logFile: path.resolve(baseDir, user.logFile) } : {}),
    configFile,
  } as Config);
}

/** 'rpc' and 'none' in their short forms (what banners and the dashboard compare); any other URL as given. */
function normalizeBackend(url: string): string {
  const short = url.replace(/:\/\/$/, '');
  if (short === 'none' || short === 'disabled') return 'none';
  return short === 'rpc' ? 'rpc' : url;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
