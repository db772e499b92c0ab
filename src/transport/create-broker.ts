import type { Broker } from '../core/broker.js';
import { ConfigError } from '../core/errors.js';

/**
 * Pick the adapter by URL scheme. Adapters load on demand so a file-broker user never loads
 * amqplib and a short-lived `celeryts call` starts fast.
 */
export async function createBroker(url: string): Promise<Broker> {
  const scheme = url.slice(0, url.indexOf('://'));
  if (scheme === 'file') {
    const { FileBroker } = await import('./file/file-broker.js');
    return new FileBroker(url);
  }
  if (scheme === 'amqp' || scheme === 'amqps') {
    const { AmqpBroker } = await import('./amqp/amqp-broker.js');
    return new AmqpBroker(url);
  }
  throw new ConfigError(`unsupported broker URL scheme '${scheme}://' (use amqp://, amqps:// or file://)`);
}
