/**
 * Standing for leader on RabbitMQ. Every instance consumes the election queue, a durable queue
 * with single-active-consumer: RabbitMQ delivers to one consumer only, the first registered,
 * and when its channel closes (a SIGKILLed process's socket closes at once; a silent network
 * loss is noticed by heartbeats) to the next. The queue holds a token message; the active
 * consumer receives it and keeps it unacked. Holding the token is leading.
 *
 *   join -> (token delivered) -> leading -> channel closed / consumer cancelled -> lost
 *                                   '-> close(): the token goes to the next consumer at once
 *
 * Nobody polls and nothing fails while waiting (a standby is just a consumer that receives
 * nothing), so the broker's log stays quiet. Each candidate publishes one token when it joins;
 * x-max-length 1 keeps spare ones to one, and spares are harmless: only the active consumer
 * ever receives any. The held token is requeued to ourselves now and then (refresh) so that
 * RabbitMQ's consumer_timeout (30 min by default) never closes the leader's channel.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import type { AmqpSession } from '../../transport/amqp/session.js';

/** One instance's consumer on the election queue. */
export class AmqpCandidate {
  #token: ConsumeMessage | undefined;
  #lost: string | undefined;
  readonly #listeners = new Set<(why: string) => void>();

  private constructor(
    readonly session: AmqpSession,
    private readonly channel: Channel,
  ) {}

  /** Start consuming `queue` (single-active-consumer, prefetch 1). */
  static async join(session: AmqpSession, queue: string): Promise<AmqpCandidate> {
    const ch = await session.openChannel();
    const c = new AmqpCandidate(session, ch);
    ch.on('error', () => {}); // 'close' follows
    ch.on('close', () => c.#lose('the election channel closed'));
    await ch.prefetch(1);
    await ch.consume(queue, (m) => c.#deliver(m), { noAck: false });
    return c;
  }

  #deliver(m: ConsumeMessage | null): void {
    if (!m) return this.#lose('the election consumer was cancelled by the server');
    if (this.#token) this.channel.nack(m, false, true);
    else this.#token = m;
  }

  #lose(why: string): void {
    if (this.#lost) return;
    this.#lost = why;
    this.#token = undefined;
    for (const l of this.#listeners) l(why);
  }

  /** True while this consumer holds the token: it is the active consumer, so it leads. */
  get holdsToken(): boolean {
    return this.#lost === undefined && this.#token !== undefined;
  }

  /** False once the channel closed or the consumer was cancelled: join again. */
  get alive(): boolean {
    return this.#lost === undefined && this.session.alive;
  }

  /** Call `listener` once if the candidacy ends (leadership with it). */
  onLost(listener: (why: string) => void): void {
    if (this.#lost) listener(this.#lost);
    else this.#listeners.add(listener);
  }

  /** Requeue the held token; being the active consumer, we get it back at once (resets consumer_timeout). */
  refresh(): void {
    const t = this.#token;
    if (!t || this.#lost) return;
    this.#token = undefined;
    this.channel.nack(t, false, true);
  }

  /** Leave: closing the channel hands the token to the next consumer. */
  async close(): Promise<void> {
    this.#lose('left the election');
    await this.channel.close().catch(() => {});
  }
}
