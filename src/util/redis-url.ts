/**
 * Redis URLs as Celery and kombu write them, turned into ioredis connection options. One parser
 * for every part that talks to Redis (broker, result backend, beat), so they agree on what a
 * URL means and on how it is shown in logs.
 *
 *   redis://[[user]:password@]host[:port][/db]       plain TCP (db defaults to 0)
 *   rediss://...                                     TLS; `?ssl_cert_reqs=none` (or CERT_NONE)
 *                                                    skips certificate checks, as in Celery
 *   redis+socket:///path/to/redis.sock[?virtual_host=db]   a Unix socket (also `socket://`)
 *   sentinel://[:password@]host:port[;sentinel://host2:port2...][/db]?master_name=mymaster
 *                                                    Redis Sentinel; the master name may also
 *                                                    come from `transport_options.master_name`
 *
 * `?db=N` or `?virtual_host=N` also select the database, as kombu accepts them.
 */
import { ConfigError } from '../core/errors.js';
import { maskUrl } from './mask-url.js';

/** The subset of ioredis' RedisOptions this parser produces. */
export interface RedisConnectionOptions {
  host?: string;
  port?: number;
  path?: string;
  username?: string;
  password?: string;
  db: number;
  tls?: { rejectUnauthorized?: boolean; servername?: string };
  sentinels?: { host: string; port: number }[];
  name?: string;
  sentinelPassword?: string;
}

/** A parsed Redis URL. */
export interface RedisUrl {
  /** Options for `new Redis(options)` (ioredis). */
  readonly options: RedisConnectionOptions;
  /** Database number (kombu's "virtual host" on Redis). */
  readonly db: number;
  /** The URL with its password masked, safe to log. */
  readonly displayUrl: string;
  /** 'redis', 'rediss', 'redis+socket' or 'sentinel'. */
  readonly scheme: string;
}

const SCHEMES = new Set(['redis', 'rediss', 'redis+socket', 'socket', 'sentinel']);

/** True when `url` names Redis (any of the schemes above). */
export function isRedisUrl(url: string): boolean {
  return SCHEMES.has(url.slice(0, Math.max(0, url.indexOf('://'))).toLowerCase());
}

function parseDb(raw: string | null | undefined, displayUrl: string): number | undefined {
  if (raw === null || raw === undefined || raw === '') return undefined;
  const db = Number(raw);
  if (!Number.isInteger(db) || db < 0) throw new ConfigError(`invalid Redis database '${raw}' in ${displayUrl} (a number, 0 or more)`);
  return db;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Parse a Redis URL (see the module comment). `masterName` is used for sentinel:// when the URL
 * has no `master_name` (Celery's `broker_transport_options = {'master_name': ...}`).
 * Throws ConfigError, with the password masked, for anything it cannot read.
 */
export function parseRedisUrl(url: string, settings: { masterName?: string } = {}): RedisUrl {
  const displayUrl = url
    .split(';')
    .map((u) => maskUrl(u.trim()))
    .join(';');
  const scheme = url.slice(0, Math.max(0, url.indexOf('://'))).toLowerCase();
  if (!SCHEMES.has(scheme)) throw new ConfigError(`not a Redis URL: ${displayUrl} (use redis://, rediss://, redis+socket:// or sentinel://)`);
  if (scheme === 'sentinel') return parseSentinel(url, displayUrl, settings.masterName);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`invalid Redis URL: ${displayUrl}`);
  }
  const q = u.searchParams;
  const credentials = {
    ...(u.username ? { username: decode(u.username) } : {}),
    ...(u.password ? { password: decode(u.password) } : {}),
  };
  if (scheme === 'redis+socket' || scheme === 'socket') {
    const path = decode(u.pathname);
    if (!path || path === '/') throw new ConfigError(`Redis socket URL without a path: ${displayUrl}`);
    const db = parseDb(q.get('virtual_host') ?? q.get('db'), displayUrl) ?? 0;
    return { scheme: 'redis+socket', db, displayUrl, options: { path, db, ...credentials } };
  }
  const db = parseDb(u.pathname.replace(/^\//, '').split('/')[0], displayUrl) ?? parseDb(q.get('virtual_host') ?? q.get('db'), displayUrl) ?? 0;
  const options: RedisConnectionOptions = { host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : 6379, db, ...credentials };
  if (scheme === 'rediss') {
    const reqs = (q.get('ssl_cert_reqs') ?? '').toLowerCase();
    options.tls = reqs === 'none' || reqs === 'cert_none' ? { rejectUnauthorized: false } : {};
  }
  return { scheme, db, displayUrl, options };
}

function parseSentinel(url: string, displayUrl: string, masterName: string | undefined): RedisUrl {
  const parts = url
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
  const sentinels: { host: string; port: number }[] = [];
  let db: number | undefined;
  let password: string | undefined;
  let name = masterName;
  for (const part of parts) {
    let u: URL;
    try {
      u = new URL(part.replace(/^sentinel:/i, 'redis:'));
    } catch {
      throw new ConfigError(`invalid Redis Sentinel URL: ${displayUrl}`);
    }
    sentinels.push({ host: u.hostname || '127.0.0.1', port: u.port ? Number(u.port) : 26379 });
    db ??=
      parseDb(u.pathname.replace(/^\//, '').split('/')[0], displayUrl) ?? parseDb(u.searchParams.get('virtual_host') ?? u.searchParams.get('db'), displayUrl);
    if (u.password) password ??= decode(u.password);
    name = u.searchParams.get('master_name') ?? name;
  }
  if (!name) throw new ConfigError(`Redis Sentinel URL ${displayUrl} needs a master name (?master_name=NAME)`);
  const options: RedisConnectionOptions = { sentinels, name, db: db ?? 0, ...(password ? { password, sentinelPassword: password } : {}) };
  return { scheme: 'sentinel', db: db ?? 0, displayUrl, options };
}
