/**
 * Remote control, worker side: each worker consumes its own `<node>.celery.pidbox` queue bound
 * to the `celery.pidbox` fanout exchange and answers on `reply.celery.pidbox` with routing
 * key = the client's id, header `ticket`, body `{ "<node>": answer }` (test/fixtures/protocol/pidbox.json).
 */
import { supportedQueueOptions, type Broker, type Consumer, type Delivery } from '../core/broker.js';
import { CONTROL_MESSAGE_TTL_MS, CONTROL_QUEUE_EXPIRES_MS, declarePidboxExchanges, PIDBOX_EXCHANGE, pidboxQueueName } from '../core/topology.js';
import { encodePidboxReply, parsePidboxRequest, pidboxProperties } from '../core/wire/pidbox.js';
import type { Logger } from '../logging/logger.js';

/** A control command: gets the request's arguments, returns the answer (or undefined for no reply). */
export type ControlCommand = (args: Record<string, unknown>) => unknown | Promise<unknown>;

/** The worker's mailbox. */
export class ControlServer {
  #consumer: Consumer | undefined;
  #clock = 0;

  constructor(
    private readonly broker: Broker,
    private readonly nodeName: string,
    private readonly commands: Record<string, ControlCommand>,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    await declarePidboxExchanges(this.broker);
    const queue = pidboxQueueName(this.nodeName);
    await this.broker.declareQueue(
      queue,
      supportedQueueOptions(this.broker, { durable: false, autoDelete: true, expiresMs: CONTROL_QUEUE_EXPIRES_MS, messageTtlMs: CONTROL_MESSAGE_TTL_MS }),
    );
    await this.broker.bindQueue(queue, PIDBOX_EXCHANGE, '');
    this.#consumer = await this.broker.consume(queue, { prefetch: 0, noAck: true }, (d) => void this.#handle(d));
  }

  async #handle(d: Delivery): Promise<void> {
    const expires = d.headers['expires'];
    if (typeof expires === 'number' && expires * 1000 < Date.now()) return; // the client stopped waiting
    const req = parsePidboxRequest(d.body);
    if (!req) {
      this.log.warn('ignoring malformed control message');
      return;
    }
    if (req.destination && !req.destination.includes(this.nodeName)) return;
    const command = this.commands[req.method];
    let answer: unknown;
    if (!command) answer = { error: `No such control command: ${req.method}` };
    else {
      try {
        answer = await command(req.arguments);
      } catch (err) {
        this.log.error({ err, method: req.method }, 'control command failed');
        answer = { error: (err as Error).message };
      }
    }
    if (!req.reply_to || !req.ticket || answer === undefined) return;
    await this.broker
      .publish(req.reply_to.exchange, req.reply_to.routing_key, {
        body: encodePidboxReply(this.nodeName, answer),
        headers: { ticket: req.ticket, clock: ++this.#clock },
        properties: pidboxProperties(1),
      })
      .catch((err) => this.log.warn({ err, method: req.method }, 'could not send control reply'));
  }

  async stop(): Promise<void> {
    const c = this.#consumer;
    this.#consumer = undefined;
    await c?.cancel().catch(() => undefined);
  }
}
