/**
 * Remote control (pidbox), client side: broadcast a command to every worker (or some) and
 * gather their replies until a timeout.
 *
 *   client ── {method, arguments, destination, ticket, reply_to} ──▶ celery.pidbox (fanout)
 *                                                                       │ every worker's
 *                                                                       ▼ <node>.celery.pidbox
 *   client ◀── {"<node>": answer}, header ticket ── reply.celery.pidbox (direct, key = client id)
 */
import { randomUUID } from 'node:crypto';
import { supportedQueueOptions, type Broker, type Consumer, type Delivery } from '../core/broker.js';
import { signControl } from '../core/control-signature.js';
import { encodePidboxRequest, parsePidboxReply, pidboxProperties } from '../core/wire/pidbox.js';
import { CONTROL_MESSAGE_TTL_MS, CONTROL_QUEUE_EXPIRES_MS, declarePidboxExchanges, PIDBOX_EXCHANGE, REPLY_PIDBOX_EXCHANGE } from '../core/topology.js';

/** Options of one broadcast. */
export interface BroadcastOptions {
  /** Only these node names answer (default: all). */
  destination?: string[];
  /** Seconds to wait for replies. Default 1. */
  timeout?: number;
  /** Wait for replies at all (control commands may fire and forget). Default true. */
  reply?: boolean;
  /** Stop after this many replies (default: the destination count, if given). */
  limit?: number;
}

type Collector = (node: string, answer: unknown) => void;

/** Sends pidbox commands and gathers replies. */
export class ControlClient {
  readonly oid = randomUUID();
  #consumer: Promise<Consumer> | undefined;
  readonly #collectors = new Map<string, Collector>();
  #clock = 0;

  /** `secret`: sign every request (config controlSecret; see core/control-signature.ts). */
  constructor(
    private readonly broker: Broker,
    private readonly secret?: string,
  ) {}

  async #listen(): Promise<Consumer> {
    await declarePidboxExchanges(this.broker);
    const queue = `${this.oid}.${REPLY_PIDBOX_EXCHANGE}`;
    await this.broker.declareQueue(
      queue,
      supportedQueueOptions(this.broker, { durable: false, autoDelete: true, expiresMs: CONTROL_QUEUE_EXPIRES_MS, messageTtlMs: CONTROL_MESSAGE_TTL_MS }),
    );
    await this.broker.bindQueue(queue, REPLY_PIDBOX_EXCHANGE, this.oid);
    return this.broker.consume(queue, { prefetch: 0, noAck: true, background: true }, (d) => this.#onReply(d));
  }

  #onReply(d: Delivery): void {
    const ticket = d.headers['ticket'];
    const collect = typeof ticket === 'string' ? this.#collectors.get(ticket) : undefined;
    if (!collect) return;
    for (const [node, answer] of parsePidboxReply(d.body)) collect(node, answer);
  }

  /** Send `method` and return `{ node: answer }` for every reply received in time. */
  async broadcast(method: string, args: Record<string, unknown> = {}, options: BroadcastOptions = {}): Promise<Record<string, unknown>> {
    const timeout = options.timeout ?? 1;
    const wantReply = options.reply ?? true;
    if (wantReply) {
      this.#consumer ??= this.#listen();
      await this.#consumer;
    } else await declarePidboxExchanges(this.broker);
    const ticket = randomUUID();
    const replies: Record<string, unknown> = {};
    const limit = options.limit ?? options.destination?.length;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    if (wantReply) {
      this.#collectors.set(ticket, (node, answer) => {
        replies[node] = answer;
        if (limit !== undefined && Object.keys(replies).length >= limit) done();
      });
    }
    const body = encodePidboxRequest({
      method,
      arguments: args,
      destination: options.destination ?? null,
      ...(wantReply ? { ticket, reply_to: { exchange: REPLY_PIDBOX_EXCHANGE, routing_key: this.oid } } : {}),
    });
    await this.broker.publish(PIDBOX_EXCHANGE, '', {
      body,
      headers: { clock: ++this.#clock, expires: Date.now() / 1000 + timeout, ...(this.secret ? signControl(body, this.secret) : {}) },
      properties: pidboxProperties(2),
    });
    if (!wantReply) return replies;
    const timer = setTimeout(done, timeout * 1000);
    await finished;
    clearTimeout(timer);
    this.#collectors.delete(ticket);
    return replies;
  }

  async close(): Promise<void> {
    const c = this.#consumer;
    this.#consumer = undefined;
    if (c) await (await c).cancel().catch(() => undefined);
  }
}
