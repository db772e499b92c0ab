/**
 * Delayed publishing on RabbitMQ without a plugin: TTL queues that dead-letter back.
 *
 * A message published with `delayMs` goes to the fanout exchange `<prefix>.<tier>` with its
 * own routing key (the target queue). The exchange feeds the durable queue of the same name,
 * declared with x-message-ttl = tier and x-dead-letter-exchange = "" and NO dead-letter
 * routing key, so when the message expires RabbitMQ republishes it to the default exchange
 * with its original routing key: it lands in its target queue `tier` ms later.
 *
 *   publish('', 'celery', m, { delayMs: 5000 })
 *     -> exchange celeryts.delay.4000 (fanout) -> queue celeryts.delay.4000 (ttl 4 s)
 *     -- expired, dead-lettered --> exchange '' -> queue 'celery'   (4 s later: early, by design)
 *
 * Why tiers and not one delay queue with a per-message `expiration`: RabbitMQ only expires
 * messages at the head of a queue, so a 1-hour message at the head would hold back every
 * 1-second message behind it. Within one tier every message has the same TTL, so the head is
 * always the first to expire and nothing waits behind a longer delay.
 *
 * Why powers of two, rounding DOWN: 25 queues cover 1 s to ~194 days, and a message is never
 * later than asked (except below 1 s, where the shortest tier adds up to a second). It may come
 * back early, by up to half the delay; the consumer re-checks its own due time (the task eta)
 * and, if it is still far off, delays it again in a shorter tier: a delay of d takes about
 * log2(d / 1 s) hops. A delay longer than the longest tier simply goes round again.
 *
 * Details that follow from dead-lettering, not from us: the message comes back with `x-death`
 * headers added and without its `expiration` property; an `expiration` shorter than the tier
 * makes it leave the tier early (it is dead-lettered too, not dropped).
 *
 * The tier exchange is auto-delete: if someone deletes a tier queue, its exchange goes too and
 * the next delayed publish fails loudly (404) instead of being routed nowhere; the tier is then
 * declared again on the following publish. Declarations go through the broker's own
 * declareExchange/declareQueue/bindQueue, so they are replayed after a reconnection.
 */
import type { Broker, OutgoingMessage, PublishOptions, QueueOptions } from '../../core/broker.js';
import { publishDelay } from '../publish-delay.js';

/** The shortest tier, in ms. */
export const MIN_TIER_MS = 1000;
/** How many tiers: 1 s * 2^0 ... 1 s * 2^24 (~194 days; RabbitMQ handles TTLs past 2^32 ms). */
const TIER_COUNT = 25;
/** Every tier duration in ms, shortest first. */
export const TIER_DURATIONS_MS: readonly number[] = Array.from({ length: TIER_COUNT }, (_, k) => MIN_TIER_MS * 2 ** k);
/** Default prefix of the tier exchanges and queues. */
export const DEFAULT_DELAY_TIER_PREFIX = 'celeryts.delay';

/** The tier for a delay: the longest one not longer than it, or the shortest tier. */
export function tierFor(delayMs: number): number {
  let tier = MIN_TIER_MS;
  for (const t of TIER_DURATIONS_MS) if (t <= delayMs) tier = t;
  return tier;
}

/** Name of a tier's exchange and queue. */
export function tierName(prefix: string, tierMs: number): string {
  return `${prefix}.${tierMs}`;
}

/** How a tier queue is declared (exported for tests and for operators' tooling). */
export function tierQueueOptions(tierMs: number): QueueOptions {
  return { durable: true, messageTtlMs: tierMs, deadLetterExchange: '' };
}

/** The broker's declarations, which it records for replay after a reconnection. */
export type TierTopology = Pick<Broker, 'declareExchange' | 'declareQueue' | 'bindQueue'>;
/** A publish without a delay (the broker's confirm pipeline). */
export type TierSend = (exchange: string, routingKey: string, message: OutgoingMessage) => Promise<void>;

/** The delay tiers of one broker; declares each tier on first use. */
export class DelayTiers {
  readonly #prefix: string;
  readonly #topology: TierTopology;
  readonly #sendNow: TierSend;
  /** Tiers declared (resolved) or being declared (pending), by duration. */
  readonly #declared = new Map<number, Promise<void>>();
  /** Tiers known to be declared: publishes to them skip the wait, so they keep their order. */
  readonly #ready = new Set<number>();

  constructor(prefix: string, topology: TierTopology, send: TierSend) {
    this.#prefix = prefix;
    this.#topology = topology;
    this.#sendNow = send;
  }

  /** Publish with the delay `options` ask for (see publishDelay for what is refused). */
  publish(exchange: string, routingKey: string, message: OutgoingMessage, options: PublishOptions): Promise<void> {
    let delayMs: number;
    try {
      delayMs = publishDelay(exchange, options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (delayMs === 0) return this.#sendNow(exchange, routingKey, message);
    const tier = tierFor(delayMs);
    if (this.#ready.has(tier)) return this.#send(tier, routingKey, message);
    return this.#declare(tier).then(() => this.#send(tier, routingKey, message));
  }

  #send(tier: number, routingKey: string, message: OutgoingMessage): Promise<void> {
    return this.#sendNow(tierName(this.#prefix, tier), routingKey, message).catch((err: unknown) => {
      this.#forget(tier); // the tier may be gone (queue deleted by hand): declare it again next time
      throw err;
    });
  }

  #declare(tier: number): Promise<void> {
    let declared = this.#declared.get(tier);
    if (!declared) {
      const name = tierName(this.#prefix, tier);
      declared = (async () => {
        await this.#topology.declareExchange(name, 'fanout', { durable: true, autoDelete: true });
        await this.#topology.declareQueue(name, tierQueueOptions(tier));
        await this.#topology.bindQueue(name, name, '');
        this.#ready.add(tier);
      })();
      declared.catch(() => {
        if (this.#declared.get(tier) === declared) this.#forget(tier);
      });
      this.#declared.set(tier, declared);
    }
    return declared;
  }

  #forget(tier: number): void {
    this.#declared.delete(tier);
    this.#ready.delete(tier);
  }
}
