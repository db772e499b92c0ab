/**
 * Reading the dead-letter queue (`celeryts dlq`): the messages are taken with an ordinary
 * consumer (the broker port has no basic.get), held unacked while they are looked at, then
 * each is either given back (requeue), replayed (published to its original queue, then acked)
 * or purged (acked). Nothing is settled before its fate is decided, so a crash of the command
 * gives everything back.
 */
import type { Broker, Consumer, Delivery } from '../core/broker.js';
import { BrokerError } from '../core/errors.js';
import { deadLetterSummary, replayMessage, type DeadLetterSummary } from '../core/dead-letter.js';

/** Stop waiting for more messages once none came for this long. */
const QUIET_MS = 500;

/** One dead-lettered message being looked at. */
export interface DeadLetter extends DeadLetterSummary {
  delivery: Delivery;
}

/** The messages of a dead-letter queue, held until `release`. */
export class DeadLetterQueue {
  #done = new Set<DeadLetter>();

  private constructor(
    readonly broker: Broker,
    readonly queue: string,
    readonly messages: DeadLetter[],
    /** Cancelled only at release: on AMQP a cancel can end the deliveries' channel, and their acks with it. */
    private readonly consumer: Consumer | undefined,
    /** Arrived after the count was taken (a settled one made room): given back at release. */
    private readonly extra: Delivery[],
  ) {}

  /** Take (unacked) every message the queue holds now; `limit` bounds how many. */
  static async open(broker: Broker, queue: string, limit = 10_000): Promise<DeadLetterQueue> {
    const size = await broker.queueSize(queue);
    if (size === undefined) throw new BrokerError(`dead-letter queue '${queue}' does not exist on ${broker.displayUrl} (a worker declares it when it starts)`);
    const messages: DeadLetter[] = [];
    const extra: Delivery[] = [];
    const want = Math.min(size, limit);
    let consumer: Consumer | undefined;
    if (want > 0) {
      let last = Date.now();
      consumer = await broker.consume(queue, { prefetch: want }, (d) => {
        last = Date.now();
        if (messages.length >= want) extra.push(d);
        else messages.push({ ...deadLetterSummary(d.headers, d.properties), delivery: d });
      });
      while (messages.length < want && Date.now() - last < QUIET_MS) await new Promise((r) => setTimeout(r, 20));
    }
    return new DeadLetterQueue(broker, queue, messages, consumer, extra);
  }

  /** The messages whose task id is one of `ids` (all when `ids` is empty). */
  select(ids: readonly string[]): DeadLetter[] {
    if (!ids.length) return this.messages;
    const wanted = new Set(ids);
    return this.messages.filter((m) => m.id !== undefined && wanted.has(m.id));
  }

  /** Publish a message back to the queue it was dead-lettered from (or `queue`), then ack it here. */
  async replay(m: DeadLetter, queue?: string): Promise<string> {
    const target = queue ?? m.queue;
    if (!target) throw new BrokerError(`message ${m.id ?? '(no id)'} does not say which queue it came from: pass --queue`);
    await this.broker.publish('', target, replayMessage(m.delivery));
    await this.#ack(m);
    return target;
  }

  /** Drop a message for good. */
  async purge(m: DeadLetter): Promise<void> {
    await this.#ack(m);
  }

  /**
   * Stop consuming, then give back every message not replayed or purged. In that order: a
   * consumer still running takes a message given back straight away again (its prefetch has
   * room), and on Redis such a message then sits unacked until the visibility timeout (an hour
   * by default), out of sight of the next `dlq list`.
   */
  async release(): Promise<void> {
    await this.consumer?.cancel().catch(() => undefined);
    for (const m of this.messages) if (!this.#done.has(m)) m.delivery.reject(true);
    for (const d of this.extra.splice(0)) d.reject(true);
    this.#done = new Set(this.messages);
  }

  async #ack(m: DeadLetter): Promise<void> {
    if (this.#done.has(m)) return;
    this.#done.add(m);
    await m.delivery.ack();
  }
}
