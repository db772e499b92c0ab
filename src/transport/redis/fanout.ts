/**
 * Fanout exchanges over Redis publish/subscribe, as kombu does: a publish is
 * `PUBLISH /<db>.<exchange>/<routing key>`; a queue bound to a fanout exchange is consumed by
 * `PSUBSCRIBE /<db>.<exchange>/<binding key with # as *>` (or the bare `/<db>.<exchange>` for an
 * empty key). Remote control (celery.pidbox) and events (celeryev, fanout on Redis) travel this
 * way between Python and celeryts. Only live subscribers get a message, and nothing is acked.
 *
 * One subscriber connection per broker serves all its fanout consumers.
 */
import type { Redis } from 'ioredis';
import type { ConsumerSink, DriverConsumer, Subscription } from '../virtual/driver.js';
import { decodeEnvelope } from './envelope.js';
import type { Keys } from './keys.js';

/** The subscriber side of one broker. */
export class FanoutHub {
  readonly #byPattern = new Map<string, Set<FanoutConsumer>>();
  #conn: Redis | undefined;

  constructor(
    private readonly keys: Keys,
    private readonly connect: () => Redis,
  ) {}

  /** Subscribe a consumer to its bindings' patterns. */
  async add(queue: string, subscriptions: Subscription[], sink: ConsumerSink): Promise<FanoutConsumer> {
    const consumer = new FanoutConsumer(this, queue, sink);
    const conn = this.#subscriber();
    const fresh: string[] = [];
    for (const s of subscriptions) {
      const pattern = this.keys.fanoutPattern(s.exchange, s.key);
      consumer.patterns.push(pattern);
      let set = this.#byPattern.get(pattern);
      if (!set) {
        this.#byPattern.set(pattern, (set = new Set()));
        fresh.push(pattern);
      }
      set.add(consumer);
    }
    if (fresh.length) await conn.psubscribe(...fresh);
    return consumer;
  }

  /** Unsubscribe what only this consumer needed. */
  async remove(consumer: FanoutConsumer): Promise<void> {
    const gone: string[] = [];
    for (const pattern of consumer.patterns) {
      const set = this.#byPattern.get(pattern);
      if (!set?.delete(consumer) || set.size > 0) continue;
      this.#byPattern.delete(pattern);
      gone.push(pattern);
    }
    if (gone.length && this.#conn) await this.#conn.punsubscribe(...gone).catch(() => undefined);
  }

  close(): void {
    this.#conn?.disconnect();
    this.#conn = undefined;
    this.#byPattern.clear();
  }

  #subscriber(): Redis {
    if (this.#conn) return this.#conn;
    const conn = this.connect();
    conn.on('pmessage', (pattern: string, _channel: string, message: string) => this.#dispatch(pattern, message));
    this.#conn = conn;
    return conn;
  }

  #dispatch(pattern: string, text: string): void {
    const consumers = this.#byPattern.get(pattern);
    if (!consumers?.size) return;
    for (const c of consumers) {
      try {
        const env = decodeEnvelope(text);
        c.sink.deliver({ ...env, handle: {}, redelivered: false }); // a handle of its own: settling it is a no-op
      } catch (err) {
        c.sink.reportError(err);
      }
    }
  }
}

/** A queue consumed through its fanout subscriptions. */
export class FanoutConsumer implements DriverConsumer {
  readonly patterns: string[] = [];
  #active = true;
  constructor(
    private readonly hub: FanoutHub,
    readonly queue: string,
    readonly sink: ConsumerSink,
  ) {}
  wake(): void {}
  /** Nothing to settle: publish/subscribe keeps no copy. */
  settle(): void {}
  async cancel(): Promise<void> {
    if (!this.#active) return;
    this.#active = false;
    await this.hub.remove(this);
  }
  close(): Promise<void> {
    return this.cancel();
  }
}
