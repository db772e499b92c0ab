/**
 * One consumer of the virtual layer: the prefetch window, the port's Delivery objects, and what
 * settling means in AMQP terms, over a driver's consumer.
 *
 * ```
 *  driver takes (within credit) ──▶ expired? ──yes──▶ dead-letter exchange, or dropped
 *                                      │no
 *                                      ▼
 *                      handler(delivery) ── ack ──────────▶ driver: ack (forgotten)
 *                      (counts against ├── reject(true) ──▶ driver: requeue (redelivered)
 *                       prefetch)      ├── reject(false) ─▶ dead-letter exchange, then removed
 *                                      └── close() ───────▶ driver: every unsettled one back
 * ```
 * A handler that throws loses nothing: the delivery stays unsettled and returns on close (or
 * to another consumer after the driver's recovery). noAck deliveries are settled by the driver
 * when taken; their ack and reject do nothing.
 */
import type { ConsumeOptions, Consumer, Delivery, DeliveryHandler, QueueOptions } from '../../core/broker.js';
import type { ConsumerSink, DriverConsumer, RawDelivery, StorageDriver, StoredMessage, Subscription } from './driver.js';

/** What a consumer needs from its broker. */
export interface ConsumerHost {
  queueOptions(queue: string): Promise<QueueOptions | undefined>;
  deadLetter(options: QueueOptions, message: StoredMessage): Promise<void>;
  forget(consumer: VirtualConsumer): void;
  reportProblem(condition: string, err: unknown): void;
}

let consumerSeq = 0;
const NOOP = (): void => undefined;

/** The port's Delivery for a raw delivery of the virtual layer. */
class VirtualDelivery implements Delivery {
  readonly body: Buffer;
  readonly headers: Delivery['headers'];
  readonly properties: Delivery['properties'];
  readonly exchange: string;
  readonly routingKey: string;
  readonly redelivered: boolean;
  readonly stale = false;
  readonly touch?: () => Promise<void>;
  constructor(
    private readonly raw: RawDelivery,
    private readonly settleWith: (raw: RawDelivery, how: 'ack' | 'requeue' | 'drop') => void | Promise<void>,
    touchWith: ((handle: unknown) => Promise<void>) | undefined,
  ) {
    this.body = raw.body;
    this.headers = raw.headers;
    this.properties = raw.properties;
    this.exchange = raw.exchange;
    this.routingKey = raw.routingKey;
    this.redelivered = raw.redelivered;
    if (touchWith) this.touch = () => touchWith(raw.handle);
  }
  ack(): void | Promise<void> {
    return this.settleWith(this.raw, 'ack');
  }
  reject(requeue: boolean): void {
    const r = this.settleWith(this.raw, requeue ? 'requeue' : 'drop');
    if (r) r.catch(NOOP); // reported by the consumer; reject has no caller to tell
  }
}

/** A consumer; made and started by VirtualBroker.consume. */
export class VirtualConsumer implements Consumer, ConsumerSink {
  readonly tag = `virtual.${process.pid}.${++consumerSeq}`;
  #driver: DriverConsumer | undefined;
  #active = false;
  #closed = false;
  #unsettled = 0;
  /** Handles handed out and not settled (settle once; close returns the rest through the driver). */
  readonly #outstanding = new Set<unknown>();
  readonly #pending = new Set<Promise<unknown>>();

  constructor(
    private readonly host: ConsumerHost,
    readonly queue: string,
    private readonly queueOptions: QueueOptions,
    private readonly options: ConsumeOptions,
    private readonly handler: DeliveryHandler,
  ) {}

  async start(driver: StorageDriver, subscriptions: Subscription[]): Promise<void> {
    this.#active = true;
    this.#driver = await driver.consume(this.queue, { noAck: this.options.noAck === true, subscriptions }, this);
  }

  /** ConsumerSink: room left in the prefetch window. */
  credit(): number {
    if (!this.#active) return 0;
    if (this.options.noAck || this.options.prefetch <= 0) return Number.POSITIVE_INFINITY;
    return this.options.prefetch - this.#unsettled;
  }

  /** ConsumerSink: a message the driver took for us. */
  deliver(raw: RawDelivery): void {
    if (!this.options.noAck) {
      this.#outstanding.add(raw.handle);
      this.#unsettled++;
    }
    if (this.#expired(raw)) {
      // Never handed out: settled at once (dead-lettered or dropped), as RabbitMQ does.
      void this.#settle(raw, 'drop');
      return;
    }
    const delivery = this.options.noAck
      ? noAckDelivery(raw)
      : new VirtualDelivery(raw, (r, how) => this.#settle(r, how), this.#driver?.touch ? (handle) => this.#driver!.touch!(handle) : undefined);
    try {
      const r: unknown = this.handler(delivery);
      if (r instanceof Promise) r.catch((err: unknown) => this.reportError(err));
    } catch (err) {
      // The delivery stays unsettled: it returns on close, or through the driver's recovery.
      this.reportError(err);
    }
  }

  /** ConsumerSink: trouble the driver could not return to a caller. */
  reportError(err: unknown): void {
    this.host.reportProblem(`consumer of '${this.queue}'`, err);
  }

  /** Stop receiving; handed-out deliveries stay settleable. */
  async cancel(): Promise<void> {
    if (!this.#active) return;
    this.#active = false;
    this.host.forget(this);
    await this.#driver?.cancel();
  }

  /** Cancel, then give every unsettled delivery back to the queue (an AMQP channel closing). */
  async close(): Promise<void> {
    await this.cancel();
    await Promise.allSettled([...this.#pending]);
    this.#closed = true;
    this.#outstanding.clear(); // later ack/reject of these deliveries are no-ops
    this.#unsettled = 0;
    await this.#driver?.close();
  }

  #expired(raw: RawDelivery): boolean {
    // Most messages have no TTL at all: skip the arithmetic (this runs once per delivery).
    if (raw.enqueuedAt === undefined || (raw.properties.expiration === undefined && this.queueOptions.messageTtlMs === undefined)) return false;
    const perMessage = raw.properties.expiration === undefined ? Number.NaN : Number(raw.properties.expiration);
    const ttls = [this.queueOptions.messageTtlMs ?? Number.NaN, perMessage].filter((t) => Number.isFinite(t));
    return ttls.length > 0 && Date.now() - raw.enqueuedAt >= Math.min(...ttls);
  }

  #settle(raw: RawDelivery, how: 'ack' | 'requeue' | 'drop'): void | Promise<void> {
    if (this.options.noAck || !this.#outstanding.delete(raw.handle)) return; // settled already, or returned by close()
    this.#unsettled--;
    const driver = this.#driver!;
    let result: void | Promise<void>;
    if (how === 'drop') {
      result = this.#track(this.#deadLetter(raw).then(() => driver.settle(raw.handle, 'remove')));
    } else {
      try {
        result = driver.settle(raw.handle, how);
      } catch (err) {
        result = Promise.reject(err);
      }
      if (result) {
        // A failed ack or requeue leaves the message held: unsettled again, so the caller can
        // requeue it (or ack again) and close() gives it back.
        result = this.#track(
          result.catch((err: unknown) => {
            if (this.#outstanding.has(raw.handle) || this.#closed) throw err;
            this.#outstanding.add(raw.handle);
            this.#unsettled++;
            throw err;
          }),
        );
      }
    }
    driver.wake();
    return result;
  }

  async #deadLetter(raw: RawDelivery): Promise<void> {
    const options = (await this.host.queueOptions(this.queue).catch(() => undefined)) ?? this.queueOptions;
    if (options.deadLetterExchange === undefined) return;
    try {
      await this.host.deadLetter(options, raw);
    } catch (err) {
      this.host.reportProblem('dead-lettering failed (message dropped, as AMQP does)', err);
    }
  }

  /** Keep a settle in flight for close(); report its failure (and still hand it to the caller). */
  #track(p: Promise<void>): Promise<void> {
    const tracked = p.catch((err: unknown) => {
      this.host.reportProblem(`settling a delivery of '${this.queue}' failed`, err);
      throw err;
    });
    const quiet = tracked.catch(NOOP).finally(() => this.#pending.delete(quiet));
    this.#pending.add(quiet);
    return tracked;
  }
}

function noAckDelivery(raw: RawDelivery): Delivery {
  return {
    body: raw.body,
    headers: raw.headers,
    properties: raw.properties,
    exchange: raw.exchange,
    routingKey: raw.routingKey,
    redelivered: raw.redelivered,
    stale: false,
    ack: NOOP,
    reject: NOOP,
  };
}
