/**
 * Pick beat's store by URL scheme (`beatStoreUrl`, default the broker URL): the file broker's
 * directory, RabbitMQ, or Redis. Adapters load on demand, so a file-broker user never loads
 * amqplib or ioredis.
 */
import { ConfigError } from '../core/errors.js';
import type { Config } from '../config/schema.js';
import { isRedisUrl } from '../util/redis-url.js';
import { maskUrl } from '../util/mask-url.js';
import type { BeatLogger } from './scheduler.js';
import type { BeatStore, StoreTiming } from './store.js';

/** The store URL beat uses for this config. */
export function beatStoreUrl(config: Pick<Config, 'beatStoreUrl' | 'brokerUrl'>): string {
  return config.beatStoreUrl ?? config.brokerUrl;
}

/** Lease and poll interval from `beatLockTimeout`. */
export function storeTiming(config: Pick<Config, 'beatLockTimeout'>): StoreTiming {
  const leaseMs = Math.round(config.beatLockTimeout * 1000);
  return { leaseMs, pollMs: Math.max(10, Math.round(leaseMs / 5)) };
}

/** Open (lazily connecting) the store for `config`. */
export async function openBeatStore(config: Config, log: BeatLogger): Promise<BeatStore> {
  const url = beatStoreUrl(config);
  const prefix = config.beatKeyPrefix;
  const timing = storeTiming(config);
  const scheme = url.slice(0, Math.max(0, url.indexOf('://'))).toLowerCase();
  if (scheme === 'file') {
    const [{ FileBeatStore }, { Layout, rootFromUrl }, { Liveness }] = await Promise.all([
      import('./file/file-store.js'),
      import('../transport/file/layout.js'),
      import('../transport/file/owner.js'),
    ]);
    const layout = new Layout(rootFromUrl(url));
    return new FileBeatStore(layout.root, layout.tmp, new Liveness(layout.owners), prefix, log);
  }
  if (isRedisUrl(url)) {
    const { RedisBeatStore } = await import('./redis/redis-store.js');
    return new RedisBeatStore(url, prefix, timing, log, config.brokerTransportOptions.masterName);
  }
  if (scheme === 'amqp' || scheme === 'amqps') {
    const { AmqpBeatStore } = await import('./amqp/amqp-store.js');
    return new AmqpBeatStore(url, prefix, { tls: config.brokerTls, heartbeatSeconds: config.brokerHeartbeat }, log);
  }
  throw new ConfigError(`beat cannot keep its state at ${maskUrl(url)}: use a file://, amqp(s):// or redis(s):// URL (beatStoreUrl)`);
}
