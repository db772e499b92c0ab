/**
 * Result backends by URL scheme, from one list: `rpc://` (the default), `redis://`,
 * `rediss://`, `redis+socket://`, `sentinel://`, and `none` (also `disabled`).
 */
import type { Broker } from '../core/broker.js';
import type { ResultBackend } from '../core/backend.js';
import { ConfigError } from '../core/errors.js';
import type { Logger } from '../logging/logger.js';
import { maskUrl } from '../util/mask-url.js';
import type { ResultSource } from './async-result.js';
import { NoneBackend } from './none.js';
import { RedisBackend } from './redis/redis-backend.js';
import { RpcBackend } from './rpc.js';

/** What a backend may need from its app. */
export interface BackendDeps {
  broker: () => Promise<Broker>;
  log: Logger;
  revoke: ResultSource['revoke'];
  /** Seconds a stored result lives; 0 = forever. */
  resultExpires: number;
  resultExtended: boolean;
  /** rpc: ms a reply queue outlives its client's connection (x-expires). */
  rpcReplyQueueExpiresMs?: number;
}

interface BackendKind {
  schemes: readonly string[];
  create(url: string, deps: BackendDeps): Promise<ResultBackend>;
}

const KINDS: readonly BackendKind[] = [
  {
    schemes: ['rpc'],
    create: async (_url, d) =>
      new RpcBackend(await d.broker(), d.log, d.revoke, d.rpcReplyQueueExpiresMs !== undefined ? { replyQueueExpiresMs: d.rpcReplyQueueExpiresMs } : {}),
  },
  {
    schemes: ['redis', 'rediss', 'redis+socket', 'socket', 'sentinel'],
    create: async (url, d) => new RedisBackend(url, { expiresSeconds: d.resultExpires, extended: d.resultExtended, revoke: d.revoke, log: d.log }),
  },
  { schemes: ['none', 'disabled'], create: async (_url, d) => new NoneBackend(d.revoke) },
];

/** The scheme of a result backend URL ('none' and 'rpc' may be written without `://`). */
export function backendScheme(url: string): string {
  const i = url.indexOf('://');
  return (i < 0 ? url : url.slice(0, i)).toLowerCase();
}

/** Every scheme a result backend URL may have. */
export const BACKEND_SCHEMES: readonly string[] = KINDS.flatMap((k) => k.schemes);

/** Make the backend a URL names; ConfigError (URL masked) for an unknown scheme. */
export function createBackend(url: string, deps: BackendDeps): Promise<ResultBackend> {
  const scheme = backendScheme(url);
  const kind = KINDS.find((k) => k.schemes.includes(scheme));
  if (!kind) throw new ConfigError(`unknown result backend ${maskUrl(url)} (use ${BACKEND_SCHEMES.map((s) => `${s}://`).join(', ')} or none)`);
  return kind.create(url, deps);
}
