import { holdingBroker } from './holding-broker.js';
import { readFileSync } from 'node:fs';
import type { Broker } from '../core/broker.js';
import { ConfigError } from '../core/errors.js';
import { isRedisUrl } from '../util/redis-url.js';
import { maskUrl, splitUrlList } from '../util/mask-url.js';
import type { FailoverStrategy } from './amqp/failover.js';
import type { RedisTransportOptions } from './redis/redis-driver.js';

/** TLS settings for amqps://, with certificates given as file paths. */
export interface BrokerTlsFiles {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  passphrase?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** What adapters may use besides the URL. */
export interface BrokerSettings {
  /** pino-compatible logger (debug/warn/error with an object first). */
  logger?: { debug(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  tls?: BrokerTlsFiles;
  /** AMQP heartbeat in seconds (0 disables). */
  heartbeatSeconds?: number;
  /** AMQP: order the nodes of a URL list are tried in. */
  failoverStrategy?: FailoverStrategy;
  /** AMQP: failed reconnect attempts of a running connection before giving up (0: never). */
  reconnectMaxRetries?: number;
  /** Redis transport options (Celery's broker_transport_options): visibility timeout, key prefix, sentinel master. */
  redis?: RedisTransportOptions;
}

/** TLS options for amqplib (or a socket) from file paths; ConfigError names an unreadable file. */
export function readTls(files: BrokerTlsFiles): Record<string, unknown> {
  const read = (key: string, file: string | undefined) => {
    if (!file) return {};
    try {
      return { [key]: readFileSync(file) };
    } catch (err) {
      throw new ConfigError(`brokerTls: cannot read ${key} file ${file}: ${(err as Error).message}`, { cause: err });
    }
  };
  return {
    ...read('ca', files.caFile),
    ...read('cert', files.certFile),
    ...read('key', files.keyFile),
    ...(files.passphrase !== undefined ? { passphrase: files.passphrase } : {}),
    ...(files.rejectUnauthorized !== undefined ? { rejectUnauthorized: files.rejectUnauthorized } : {}),
    ...(files.servername !== undefined ? { servername: files.servername } : {}),
  };
}

/**
 * Pick the adapter by URL scheme, held alive while it has work (transport/holding-broker.ts). Adapters load on demand so a file-broker user never loads
 * amqplib and a short-lived `celeryts call` starts fast.
 */
export async function createBroker(url: string, settings: BrokerSettings = {}): Promise<Broker> {
  return holdingBroker(await createAdapter(url, settings));
}

async function createAdapter(url: string, settings: BrokerSettings): Promise<Broker> {
  const scheme = url.slice(0, url.indexOf('://'));
  if (splitUrlList(url).length > 1 && scheme !== 'amqp' && scheme !== 'amqps') {
    throw new ConfigError(`a broker URL list is for RabbitMQ cluster nodes (amqp://) only, got '${maskUrl(url)}'`);
  }
  if (scheme === 'file') {
    const { FileBroker } = await import('./file/file-broker.js');
    return new FileBroker(url, { logger: settings.logger, idleUnref: true });
  }
  if (scheme === 'amqp' || scheme === 'amqps') {
    const { AmqpBroker } = await import('./amqp/amqp-broker.js');
    return new AmqpBroker(url, {
      ...(settings.logger ? { logger: settings.logger } : {}),
      ...(settings.tls ? { tls: readTls(settings.tls) } : {}),
      ...(settings.heartbeatSeconds !== undefined ? { heartbeatSeconds: settings.heartbeatSeconds } : {}),
      ...(settings.reconnectMaxRetries !== undefined ? { reconnectMaxRetries: settings.reconnectMaxRetries } : {}),
      ...(settings.failoverStrategy !== undefined ? { failoverStrategy: settings.failoverStrategy } : {}),
      idleUnref: true,
    });
  }
  if (isRedisUrl(url)) {
    const { createRedisBroker } = await import('./redis/redis-broker.js');
    return createRedisBroker(url, { ...settings.redis, logger: settings.logger, idleUnref: true });
  }
  throw new ConfigError(`unsupported broker URL scheme '${scheme}://' (use amqp://, amqps://, redis://, rediss://, sentinel:// or file://)`);
}
