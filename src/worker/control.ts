/**
 * Remote control, worker side: each worker consumes its own `<node>.celery.pidbox` queue bound
 * to the `celery.pidbox` fanout exchange and answers on `reply.celery.pidbox` with routing
 * key = the client's id, header `ticket`, body `{ "<node>": answer }` (test/fixtures/protocol/pidbox.json).
 *
 * Who may command it (config; with none of it set, anyone who can publish to the vhost, as
 * with Celery):
 *   request for another node ─▶ ignored
 *   controlSecret set, signature missing, wrong, too old or seen before ─▶ refused, logged, no reply
 *   method not in controlCommands ─▶ refused, logged, answered with an error
 *   else ─▶ run, answered
 * workerEnableRemoteControl false: the worker has no pidbox queue at all (worker.ts).
 */
import { supportedQueueOptions, type Broker, type Consumer, type Delivery } from '../core/broker.js';
import { verifyControl } from '../core/control-signature.js';
import { CONTROL_MESSAGE_TTL_MS, CONTROL_QUEUE_EXPIRES_MS, declarePidboxExchanges, PIDBOX_EXCHANGE, pidboxQueueName } from '../core/topology.js';
import { encodePidboxReply, parsePidboxRequest, pidboxProperties } from '../core/wire/pidbox.js';
import type { Logger } from '../logging/logger.js';

/** A control command: gets the request's arguments, returns the answer (or undefined for no reply). */
export type ControlCommand = (args: Record<string, unknown>) => unknown | Promise<unknown>;

/** Who may command the worker; see the file comment. */
export interface ControlPolicy {
  /** Commands answered; undefined = all. */
  allow?: readonly string[] | undefined;
  /** Shared secret: only signed requests are obeyed. */
  secret?: string | undefined;
  /** Seconds a signature stays valid (and is remembered, to refuse replays). */
  windowSeconds?: number;
}

/** The worker's mailbox. */
export class ControlServer {
  #consumer: Consumer | undefined;
  #clock = 0;
  readonly #allow: Set<string> | undefined;
  /** Signatures obeyed within the window, with when they may be forgotten. */
  readonly #seen = new Map<string, number>();

  constructor(
    private readonly broker: Broker,
    private readonly nodeName: string,
    private readonly commands: Record<string, ControlCommand>,
    private readonly log: Logger,
    private readonly policy: ControlPolicy = {},
  ) {
    this.#allow = policy.allow ? new Set(policy.allow) : undefined;
    for (const name of policy.allow ?? [])
      if (!(name in commands)) log.warn({ command: name }, `controlCommands names '${name}', which is no control command of this worker`);
  }

  /** Why a request addressed to this node is refused, or undefined to obey it (see the file comment). */
  #refusal(d: Delivery, method: string): string | undefined {
    const { secret, windowSeconds = 60 } = this.policy;
    if (secret === undefined) return undefined;
    const verdict = verifyControl(d.headers, d.body, secret, windowSeconds);
    if (!verdict.ok) return verdict.why;
    const now = Date.now();
    for (const [sig, until] of this.#seen) if (until < now) this.#seen.delete(sig);
    if (this.#seen.has(verdict.signature)) return `a replay of a request already obeyed (${method})`;
    this.#seen.set(verdict.signature, now + 2 * windowSeconds * 1000);
    return undefined;
  }

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
    const refused = this.#refusal(d, req.method);
    if (refused) {
      this.log.warn({ method: req.method, why: refused }, `Refused control command '${req.method}': ${refused} (controlSecret is set)`);
      return;
    }
    const command = this.commands[req.method];
    let answer: unknown;
    if (this.#allow && !this.#allow.has(req.method)) {
      this.log.warn({ method: req.method }, `Refused control command '${req.method}': not in controlCommands`);
      answer = { error: `control command '${req.method}' is not allowed on this worker (controlCommands)` };
    } else if (!command) answer = { error: `No such control command: ${req.method}` };
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
