/**
 * The bench's own RabbitMQ access, straight through amqplib (not celeryts): fill queues with
 * encoded protocol v2 messages, pipelined, and clean up after a measurement.
 */
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { encodeTask } from '../../src/core/wire/task.js';
import type { OutgoingMessage } from '../../src/core/broker.js';
import { toPublishOptions } from '../../src/transport/amqp/mapping.js';

/** One connection with a confirm channel. */
export class BenchAmqp {
  private constructor(
    readonly conn: ChannelModel,
    readonly ch: ConfirmChannel,
  ) {}

  static async open(url: string): Promise<BenchAmqp> {
    const conn = await amqp.connect(url);
    const ch = await conn.createConfirmChannel();
    return new BenchAmqp(conn, ch);
  }

  /** RabbitMQ's version, from the connection's server properties. */
  get serverVersion(): string {
    return String(this.conn.connection.serverProperties.version ?? 'unknown');
  }

  /** Declare a durable task queue, as every worker under test declares it (kombu, celeryts, celery-node agree). */
  async declare(queue: string): Promise<void> {
    await this.ch.assertQueue(queue, { durable: true, autoDelete: false, exclusive: false });
  }

  /**
   * Publish [mark(startPath), noop x n, mark(endPath)] to `queue`: every message written at
   * once, honouring 'drain', then one wait for all the confirms.
   */
  async fill(queue: string, n: number, startPath: string, endPath: string): Promise<void> {
    await this.declare(queue);
    await this.#publish(queue, taskMessage('bench.mark', [startPath]));
    for (let i = 0; i < n; i++) await this.#publish(queue, taskMessage('bench.noop', []));
    await this.#publish(queue, taskMessage('bench.mark', [endPath]));
    await this.ch.waitForConfirms();
  }

  /** Ready messages in `queue` (0 when it does not exist). */
  async size(queue: string): Promise<number> {
    const ch = await this.conn.createChannel();
    ch.on('error', () => undefined);
    try {
      return (await ch.checkQueue(queue)).messageCount;
    } catch {
      return 0;
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /** Delete the queue and the exchange of the same name a Celery worker declares for it. */
  async remove(queue: string): Promise<void> {
    await this.ch.deleteQueue(queue).catch(() => undefined);
    await this.ch.deleteExchange(queue).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.conn.close().catch(() => undefined);
  }

  #publish(queue: string, m: OutgoingMessage): Promise<void> | void {
    const ok = this.ch.publish('', queue, m.body, toPublishOptions(m));
    if (!ok) return once(this.ch, 'drain').then(() => undefined);
  }
}

function taskMessage(name: string, args: unknown[]): OutgoingMessage {
  return encodeTask({ id: randomUUID(), task: name, args, kwargs: {}, origin: 'bench' });
}
