/**
 * What a bug report needs (`celeryts report`, and the `report` / `conf` remote-control commands
 * a Python tool asks a worker for): versions, platform, and the config with every secret masked.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { maskUrlsIn, resultsDisplay } from '../util/mask-url.js';
import { VERSION } from '../version.js';
import type { Config } from './schema.js';

/** Keys whose values are secrets wherever they appear in the config (Celery's report masks the same kinds). */
const SECRET_KEY = /pass|secret|token|signature|credential|api.?key/i;
const MASK = '********';

/** The config as `report` prints it: secrets masked, passwords in URLs masked, paths as they are. */
export function maskedConfig(value: unknown, key = ''): unknown {
  if (SECRET_KEY.test(key) && value !== undefined && value !== null) return MASK;
  if (typeof value === 'string') return maskUrlsIn(value);
  if (Array.isArray(value)) return value.map((v) => maskedConfig(v));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskedConfig(v, k)]));
  return value;
}

const require = createRequire(import.meta.url);

/** The installed version of a dependency, read from its package.json (found from its entry point). */
function versionOf(name: string): string {
  try {
    let dir = path.dirname(require.resolve(name));
    for (;;) {
      try {
        const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name) return pkg.version ?? '?';
      } catch {
        // no package.json here
      }
      const up = path.dirname(dir);
      if (up === dir) return '?';
      dir = up;
    }
  } catch {
    return 'not installed';
  }
}

/** What a bug report needs: versions, platform and the config with every secret masked. */
export function reportText(config: Config): string {
  const deps = ['amqplib', 'ioredis', 'commander', 'cosmiconfig', 'pino', 'tsx', 'esbuild'].map((d) => `${d}:${versionOf(d)}`).join(' ');
  const lines = [
    `software -> celeryts:${VERSION} node:${process.version} v8:${process.versions.v8}`,
    `platform -> system:${os.type()} arch:${os.arch()} kernel version:${os.release()} cpus:${os.availableParallelism()}`,
    `deps -> ${deps}`,
    `config file -> ${config.configFile ?? '(none: defaults)'}`,
    `settings -> transport:${config.brokerUrl.slice(0, config.brokerUrl.indexOf('://'))} results:${resultsDisplay(config.resultBackend)}`,
    '',
  ];
  const masked = maskedConfig(config) as Record<string, unknown>;
  for (const key of Object.keys(masked).sort()) {
    if (key === 'configFile') continue;
    lines.push(`${key}: ${JSON.stringify(masked[key]) ?? 'undefined'}`);
  }
  return `${lines.join('\n')}\n`;
}
