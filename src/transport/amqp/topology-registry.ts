/**
 * Everything declared through one broker, so a new connection can declare it again.
 *
 * Why: after a connection loss, exclusive and auto-delete queues are gone (and a broker that
 * restarted without persistence lost the rest), so consumers and publishes would hit 404s.
 * Declarations are idempotent in AMQP, so replaying all of them is always safe.
 */
import type { ExchangeType, QueueOptions } from '../../core/broker.js';

/** An exchange as it was declared. */
export interface ExchangeDeclaration {
  readonly name: string;
  readonly type: ExchangeType;
  readonly options: { durable?: boolean; autoDelete?: boolean };
}

/** A queue-to-exchange binding. */
export interface BindingDeclaration {
  readonly queue: string;
  readonly exchange: string;
  readonly routingKey: string;
}

/** The operations a replay needs; the adapter supplies them on the new connection. */
export interface TopologyTarget {
  declareExchange(exchange: ExchangeDeclaration): Promise<void>;
  declareQueue(name: string, options: QueueOptions): Promise<void>;
  bindQueue(binding: BindingDeclaration): Promise<void>;
}

/** Declarations recorded in order of kind: exchanges, then queues, then bindings. */
export class TopologyRegistry {
  readonly #exchanges = new Map<string, ExchangeDeclaration>();
  readonly #queues = new Map<string, QueueOptions>();
  readonly #bindings = new Map<string, BindingDeclaration>();

  /** Record a successful exchange declaration (the latest one wins). */
  recordExchange(exchange: ExchangeDeclaration): void {
    this.#exchanges.set(exchange.name, exchange);
  }

  /** Record a successful queue declaration (the latest one wins). */
  recordQueue(name: string, options: QueueOptions): void {
    this.#queues.set(name, options);
  }

  /** Record a successful binding. */
  recordBinding(binding: BindingDeclaration): void {
    // JSON keeps names containing any separator character apart.
    this.#bindings.set(JSON.stringify([binding.queue, binding.exchange, binding.routingKey]), binding);
  }

  /** Forget a deleted queue and its bindings (the server dropped them with it). */
  forgetQueue(name: string): void {
    this.#queues.delete(name);
    for (const [key, binding] of this.#bindings) if (binding.queue === name) this.#bindings.delete(key);
  }

  /** Queues that outlive a lost connection only for a while: declared with an expiry, not auto-delete or exclusive. */
  queuesWithExpiry(): string[] {
    return [...this.#queues].filter(([, o]) => o.expiresMs !== undefined && !o.autoDelete && !o.exclusive).map(([name]) => name);
  }

  /** How a queue was declared here, or undefined when it was not declared through this broker. */
  queueOptions(name: string): QueueOptions | undefined {
    return this.#queues.get(name);
  }

  /**
   * Declare a queue again with its bindings (after the server deleted it under a consumer).
   * The exchanges it is bound to come first: an auto-delete exchange went away with the
   * queue's bindings when it was its last queue.
   */
  async redeclareQueue(name: string, target: TopologyTarget): Promise<boolean> {
    const options = this.#queues.get(name);
    if (!options) return false;
    const bindings = [...this.#bindings.values()].filter((b) => b.queue === name);
    for (const exchangeName of new Set(bindings.map((b) => b.exchange))) {
      const exchange = this.#exchanges.get(exchangeName);
      if (exchange) await target.declareExchange(exchange);
    }
    await target.declareQueue(name, options);
    for (const binding of bindings) await target.bindQueue(binding);
    return true;
  }

  /**
   * Declare everything again. Each failure goes to `onError`, which decides: a declaration the
   * server now refuses (someone redeclared the queue with other arguments: PRECONDITION_FAILED)
   * is logged and skipped, so one conflicting queue cannot keep the whole broker offline; an
   * error meaning the connection itself failed is rethrown and aborts the replay.
   */
  async replay(target: TopologyTarget, onError: (what: string, err: unknown) => void): Promise<void> {
    const attempt = async (what: string, op: () => Promise<void>): Promise<void> => {
      try {
        await op();
      } catch (err) {
        onError(what, err);
      }
    };
    for (const exchange of this.#exchanges.values()) await attempt(`exchange '${exchange.name}'`, () => target.declareExchange(exchange));
    for (const [name, options] of this.#queues) await attempt(`queue '${name}'`, () => target.declareQueue(name, options));
    for (const b of this.#bindings.values()) {
      await attempt(`binding '${b.queue}' <- '${b.exchange}' (${b.routingKey})`, () => target.bindQueue(b));
    }
  }
}
