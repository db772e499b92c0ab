/**
 * Broker conformance suite: the behaviour every adapter of the `Broker` port (src/core/broker.ts)
 * must share, written against the port alone so it runs unchanged on the file broker and on
 * RabbitMQ. An adapter's test file calls `runBrokerConformance(label, makeBroker)` once.
 *
 * Contract with the caller:
 * - `makeBroker()` returns a NEW, NOT yet connected broker each call; every instance must talk to
 *   the same store (same directory, same RabbitMQ vhost), because several tests use two instances
 *   the way two processes would. The suite connects and closes every broker it makes.
 * - Names are random per test and the suite deletes the queues it declares, so it can run against
 *   a shared RabbitMQ. Exchanges are declared autoDelete (the port has no deleteExchange), so
 *   RabbitMQ drops them once their queues are gone.
 * - Delayed publishes may leave adapter-side structures behind (RabbitMQ's delay tier queues):
 *   the adapter's test file gives its brokers a tier prefix of their own and removes them in `after`.
 * - Each test is meant to finish well under 2 s (the delayed-publish tests wait out their
 *   delays, side by side); the node:test timeout is a hang guard only.
 */
import { after, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { supportedQueueOptions, type Broker, type Consumer, type Delivery, type DeliveryHandler, type OutgoingMessage } from '../../src/core/broker.js';
import { BrokerError } from '../../src/core/errors.js';
import { DeadLetterQueue } from '../../src/client/dead-letter-queue.js';

/** Knobs for adapters whose timing or feature set differs. */
export interface ConformanceOptions {
  /** Run the priority-queue test (x-max-priority). Default false: priority is optional. */
  priority?: boolean;
  /** How long "nothing more arrives" is watched, in ms. Default 200. */
  quietMs?: number;
  /** How long to wait for an expected delivery, in ms. Default 1500. */
  waitMs?: number;
  /**
   * The adapter holds delayed publishes exactly (never early). Default false: the port allows
   * an early return (RabbitMQ's power-of-two delay tiers round down).
   */
  exactDelay?: boolean;
  /** Called once after the whole suite (remove a temp dir, ...). */
  after?: () => Promise<void> | void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Collects deliveries and lets a test wait for a count with a readable failure. */
class Collector {
  readonly deliveries: Delivery[] = [];
  /** Date.now() at each delivery, in the same order. */
  readonly arrivals: number[] = [];
  private wake: (() => void) | undefined;
  constructor(private readonly waitMs: number) {}

  /** A handler that records, then runs `also` (which may ack/reject). */
  handler(also?: (d: Delivery) => void): DeliveryHandler {
    return (d) => {
      this.deliveries.push(d);
      this.arrivals.push(Date.now());
      this.wake?.();
      also?.(d);
    };
  }

  bodies(): string[] {
    return this.deliveries.map((d) => d.body.toString());
  }

  /** Resolve once at least `n` deliveries arrived; fail naming `what` otherwise. */
  async waitFor(n: number, what: string, ms = this.waitMs): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.deliveries.length < n) {
      const left = deadline - Date.now();
      if (left <= 0) {
        assert.fail(`${what}: expected ${n} deliveries within ${ms} ms, got ${this.deliveries.length} [${this.bodies().join(', ')}]`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
}

/** One test's resources: brokers it opened and queues it declared, released in `cleanup`. */
class Env {
  private readonly brokers: Broker[] = [];
  private readonly queues = new Set<string>();
  private readonly tag = randomBytes(4).toString('hex');
  constructor(
    private readonly slug: string,
    private readonly makeBroker: () => Promise<Broker> | Broker,
    readonly waitMs: number,
    readonly quietMs: number,
  ) {}

  /** A unique name; queues named here are deleted at cleanup. */
  name(what: string): string {
    return `ct.${this.slug}.${what}.${this.tag}`;
  }

  async broker(): Promise<Broker> {
    const b = await this.makeBroker();
    this.brokers.push(b);
    // The adapter reports handler errors here; a test that cares adds its own listener.
    b.on('error', () => {});
    await b.connect();
    return b;
  }

  async queue(b: Broker, what: string, options?: Parameters<Broker['declareQueue']>[1]): Promise<string> {
    const q = this.name(what);
    this.queues.add(q);
    await b.declareQueue(q, options);
    return q;
  }

  collector(): Collector {
    return new Collector(this.waitMs);
  }

  /** Close every broker (unacked messages go back), then delete the queues on a fresh broker. */
  async cleanup(): Promise<void> {
    const errors: unknown[] = [];
    for (const b of this.brokers.splice(0)) await b.close().catch((e: unknown) => errors.push(e));
    if (this.queues.size > 0) {
      const b = await this.makeBroker();
      b.on('error', () => {});
      await b.connect();
      for (const q of this.queues) await b.deleteQueue(q).catch((e: unknown) => errors.push(e));
      await b.close();
    }
    if (errors.length) throw new AggregateError(errors, 'conformance cleanup failed');
  }
}

function msg(body: string | Buffer, extra: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return {
    body: typeof body === 'string' ? Buffer.from(body) : body,
    headers: extra.headers ?? {},
    properties: extra.properties ?? { contentType: 'text/plain' },
  };
}

/** Poll `probe` until it returns `want`; fail with the last value seen. */
async function eventually<T>(what: string, probe: () => Promise<T>, want: T, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let last = await probe();
  while (!isDeepEqual(last, want) && Date.now() < deadline) {
    await sleep(20);
    last = await probe();
  }
  assert.deepEqual(last, want, `${what}: expected ${JSON.stringify(want)}, last saw ${JSON.stringify(last)}`);
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** Consume `queue` with noAck until `n` deliveries, watch for extras, cancel; returns sorted bodies. */
async function drain(env: Env, b: Broker, queue: string, n: number): Promise<string[]> {
  const c = env.collector();
  const consumer = await b.consume(queue, { prefetch: 0, noAck: true }, c.handler());
  await c.waitFor(n, `queue ${queue}`);
  await sleep(env.quietMs);
  await consumer.cancel();
  return c.bodies().sort();
}

/**
 * Register the conformance tests for one adapter. `label` names the describe block;
 * `makeBroker` returns a fresh unconnected broker on the shared store (see the file comment).
 */
export function runBrokerConformance(label: string, makeBroker: () => Promise<Broker> | Broker, opts: ConformanceOptions = {}): void {
  const waitMs = opts.waitMs ?? 1500;
  const quietMs = opts.quietMs ?? 200;
  const slug = label.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const T = { timeout: 5000 };

  /** Run `fn` with a fresh Env and always release it. */
  const withEnv =
    (fn: (env: Env, t: TestContext) => Promise<void>) =>
    async (t: TestContext): Promise<void> => {
      const env = new Env(slug, makeBroker, waitMs, quietMs);
      let failure: unknown;
      try {
        await fn(env, t);
      } catch (e) {
        failure = e;
      }
      try {
        await env.cleanup();
      } catch (e) {
        failure ??= e;
      }
      if (failure !== undefined) throw failure;
    };

  describe(`broker conformance: ${label}`, { concurrency: false }, () => {
    if (opts.after) after(opts.after);

    it(
      'round-trips body bytes, headers and properties through the default exchange',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const q = await env.queue(b, 'roundtrip');
        const body = Buffer.concat([Buffer.from([0, 1, 2, 10, 13, 255, 254]), Buffer.from('\n{"not":"json"}\nhé ✓')]);
        const headers = {
          task: 'proj.tasks.add',
          id: 'c0ffee',
          retries: 3,
          ratio: 0.5,
          flag: true,
          nothing: null,
          timelimit: [10, null],
          nested: { a: 'x', b: [1, 2, { c: false }] },
        };
        const properties = {
          contentType: 'application/json',
          contentEncoding: 'utf-8',
          deliveryMode: 2 as const,
          priority: 3,
          correlationId: 'c0ffee',
          replyTo: 'reply.queue',
          messageId: 'm-1',
          expiration: '60000',
        };
        await b.publish('', q, { body, headers, properties });
        const c = env.collector();
        await b.consume(
          q,
          { prefetch: 1 },
          c.handler((d) => d.ack()),
        );
        await c.waitFor(1, 'round trip');
        const d = c.deliveries[0]!;
        assert.ok(d.body.equals(body), `body bytes changed: sent ${body.toString('hex')}, got ${d.body.toString('hex')}`);
        for (const [k, v] of Object.entries(headers)) assert.deepEqual(d.headers[k], v, `header ${k}`);
        for (const [k, v] of Object.entries(properties)) {
          assert.deepEqual(d.properties[k as keyof typeof properties], v, `property ${k}`);
        }
        assert.equal(d.exchange, '', 'delivery.exchange');
        assert.equal(d.routingKey, q, 'delivery.routingKey');
        assert.equal(d.redelivered, false, 'first delivery must not be flagged redelivered');
      }),
    );

    it(
      'default exchange routes by queue name and silently drops unroutable messages',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const q1 = await env.queue(b, 'dflt1');
        const q2 = await env.queue(b, 'dflt2');
        await b.publish('', env.name('nosuchqueue'), msg('lost')); // must resolve, not throw
        await b.publish('', q1, msg('for-q1'));
        assert.deepEqual(await drain(env, b, q1, 1), ['for-q1'], 'q1 contents');
        assert.equal(await b.queueSize(q2), 0, 'q2 must receive nothing');
      }),
    );

    it(
      'direct exchange routes by exact binding key',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const ex = env.name('direct');
        await b.declareExchange(ex, 'direct', { durable: false, autoDelete: true });
        const qa = await env.queue(b, 'da');
        const qb = await env.queue(b, 'db');
        const qab = await env.queue(b, 'dab');
        await b.bindQueue(qa, ex, 'a');
        await b.bindQueue(qb, ex, 'b');
        await b.bindQueue(qab, ex, 'a');
        await b.bindQueue(qab, ex, 'b');
        await b.publish(ex, 'a', msg('A'));
        await b.publish(ex, 'b', msg('B'));
        await b.publish(ex, 'c', msg('C'));
        assert.deepEqual(await drain(env, b, qa, 1), ['A'], 'queue bound to "a"');
        assert.deepEqual(await drain(env, b, qb, 1), ['B'], 'queue bound to "b"');
        assert.deepEqual(await drain(env, b, qab, 2), ['A', 'B'], 'queue bound to "a" and "b"');
      }),
    );

    it(
      'fanout exchange copies to every bound queue, ignoring the routing key',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const ex = env.name('fanout');
        await b.declareExchange(ex, 'fanout', { durable: false, autoDelete: true });
        const q1 = await env.queue(b, 'f1');
        const q2 = await env.queue(b, 'f2');
        const q3 = await env.queue(b, 'f3unbound');
        await b.bindQueue(q1, ex, '');
        await b.bindQueue(q2, ex, b.capabilities.fanout === 'live' ? '' : 'whatever');
        if (b.capabilities.fanout === 'live') {
          // Publish/subscribe (Redis): only queues consumed at publish time get a copy.
          const c1 = env.collector();
          const c2 = env.collector();
          const c3 = env.collector();
          await b.consume(q1, { prefetch: 0, noAck: true }, c1.handler());
          await b.consume(q2, { prefetch: 0, noAck: true }, c2.handler());
          await b.consume(q3, { prefetch: 0, noAck: true }, c3.handler());
          await b.publish(ex, '', msg('X'));
          await c1.waitFor(1, 'first bound queue');
          await c2.waitFor(1, 'second bound queue');
          await sleep(quietMs);
          assert.deepEqual([c1.bodies(), c2.bodies(), c3.bodies()], [['X'], ['X'], []], 'copies per queue (the unbound one gets none)');
          return;
        }
        await b.publish(ex, 'some.key', msg('X'));
        assert.deepEqual(await drain(env, b, q1, 1), ['X'], 'first bound queue');
        assert.deepEqual(await drain(env, b, q2, 1), ['X'], 'second bound queue');
        assert.equal(await b.queueSize(q3), 0, 'unbound queue must get nothing');
      }),
    );

    it(
      'topic exchange matches * (one word) and # (zero or more words)',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const ex = env.name('topic');
        await b.declareExchange(ex, 'topic', { durable: false, autoDelete: true });
        const q1 = await env.queue(b, 't1');
        const q2 = await env.queue(b, 't2');
        const qall = await env.queue(b, 'tall');
        await b.bindQueue(q1, ex, '*.orange.*');
        await b.bindQueue(q2, ex, '*.*.rabbit');
        await b.bindQueue(q2, ex, 'lazy.#');
        await b.bindQueue(qall, ex, '#');
        const keys = [
          'quick.orange.rabbit',
          'lazy.orange.elephant',
          'quick.orange.fox',
          'lazy.brown.fox',
          'lazy.pink.rabbit',
          'quick.brown.fox',
          'orange',
          'quick.orange.new.rabbit',
          'lazy.orange.new.rabbit',
          'lazy',
        ];
        for (const k of keys) await b.publish(ex, k, msg(k));
        assert.deepEqual(await drain(env, b, q1, 3), ['lazy.orange.elephant', 'quick.orange.fox', 'quick.orange.rabbit'], '*.orange.*');
        assert.deepEqual(
          await drain(env, b, q2, 6),
          ['lazy', 'lazy.brown.fox', 'lazy.orange.elephant', 'lazy.orange.new.rabbit', 'lazy.pink.rabbit', 'quick.orange.rabbit'],
          '*.*.rabbit + lazy.# (a message matching both bindings arrives once)',
        );
        assert.deepEqual(await drain(env, b, qall, keys.length), [...keys].sort(), '# matches everything');
      }),
    );

    it(
      'declarations and bindings are idempotent; a double binding delivers once',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const ex = env.name('idem');
        await b.declareExchange(ex, 'direct', { durable: false, autoDelete: true });
        await b.declareExchange(ex, 'direct', { durable: false, autoDelete: true });
        const q = await env.queue(b, 'idem');
        await b.declareQueue(q);
        await b.bindQueue(q, ex, 'k');
        await b.bindQueue(q, ex, 'k');
        await b.publish(ex, 'k', msg('once'));
        assert.deepEqual(await drain(env, b, q, 1), ['once']);
      }),
    );

    it(
      'deleteQueue removes the queue and its bindings',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const ex = env.name('delq');
        await b.declareExchange(ex, 'direct', { durable: false, autoDelete: true });
        const keep = await env.queue(b, 'keep'); // keeps the autoDelete exchange alive on RabbitMQ
        await b.bindQueue(keep, ex, 'other');
        const q = await env.queue(b, 'delq');
        await b.bindQueue(q, ex, 'k');
        await b.publish('', q, msg('old'));
        await b.deleteQueue(q);
        assert.equal(await b.queueSize(q), undefined, 'queueSize of a deleted queue');
        await b.publish(ex, 'k', msg('after-delete')); // bound queue gone: must resolve
        await b.declareQueue(q);
        await b.publish(ex, 'k', msg('unbound-now'));
        await b.publish('', q, msg('direct'));
        assert.deepEqual(await drain(env, b, q, 1), ['direct'], 'recreated queue must be empty and unbound');
      }),
    );

    it(
      'queueSize and purgeQueue count ready messages',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        assert.equal(await b.queueSize(env.name('never-declared')), undefined, 'queueSize of a missing queue');
        const q = await env.queue(b, 'size');
        assert.equal(await b.queueSize(q), 0, 'fresh queue');
        await Promise.all([b.publish('', q, msg('1')), b.publish('', q, msg('2')), b.publish('', q, msg('3'))]);
        await eventually('queueSize after 3 publishes', () => b.queueSize(q), 3, waitMs);
        assert.equal(await b.purgeQueue(q), 3, 'purgeQueue return value');
        assert.equal(await b.queueSize(q), 0, 'queueSize after purge');
      }),
    );

    it(
      'keeps FIFO order for sequential publishes',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const q = await env.queue(b, 'fifo');
        const sent = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}`);
        for (const s of sent) await b.publish('', q, msg(s));
        const c = env.collector();
        await b.consume(
          q,
          { prefetch: 1 },
          c.handler((d) => setImmediate(() => d.ack())),
        );
        await c.waitFor(sent.length, 'fifo');
        assert.deepEqual(c.bodies(), sent, 'delivery order');
      }),
    );

    it(
      'many publishes may be in flight at once',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const q = await env.queue(b, 'pipeline');
        await Promise.all(Array.from({ length: 100 }, (_, i) => b.publish('', q, msg(String(i)))));
        await eventually('queueSize after 100 pipelined publishes', () => b.queueSize(q), 100, waitMs);
      }),
    );

    it(
      'prefetch bounds unacked deliveries per consumer',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const q = await env.queue(b, 'prefetch');
        for (let i = 0; i < 5; i++) await b.publish('', q, msg(`p${i}`));
        const c = env.collector();
        await b.consume(q, { prefetch: 2 }, c.handler());
        await c.waitFor(2, 'prefetch 2, first window');
        await sleep(quietMs);
        assert.equal(c.deliveries.length, 2, 'with prefetch 2 and nothing acked, only 2 may be delivered');
        c.deliveries[0]!.ack();
        await c.waitFor(3, 'one more after one ack');
        await sleep(quietMs);
        assert.equal(c.deliveries.length, 3, 'one ack frees exactly one slot');
        for (const d of c.deliveries.slice(1)) d.ack();
        await c.waitFor(5, 'the rest after acking');
        for (const d of c.deliveries.slice(3)) d.ack();
      }),
    );

    it(
      'ack removes the message for good',
      T,
      withEnv(async (env) => {
        const b1 = await env.broker();
        const q = await env.queue(b1, 'ack');
        for (let i = 0; i < 3; i++) await b1.publish('', q, msg(`a${i}`));
        const c = env.collector();
        await b1.consume(
          q,
          { prefetch: 10 },
          c.handler((d) => d.ack()),
        );
        await c.waitFor(3, 'ack');
        await b1.close(); // flushes acks; nothing is left to requeue
        const b2 = await env.broker();
        const c2 = env.collector();
        await b2.consume(q, { prefetch: 10 }, c2.handler());
        await sleep(quietMs);
        assert.deepEqual(c2.bodies(), [], 'acked messages must not come back');
        assert.equal(await b2.queueSize(q), 0, 'queueSize after acks');
      }),
    );

    it(
      'reject(requeue=true) redelivers with redelivered=true',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const q = await env.queue(b, 'requeue');
        await b.publish('', q, msg('again', { headers: { h: 1 }, properties: { contentType: 'text/plain' } }));
        const c = env.collector();
        await b.consume(
          q,
          { prefetch: 1 },
          c.handler((d) => (c.deliveries.length === 1 ? d.reject(true) : d.ack())),
        );
        await c.waitFor(2, 'redelivery after reject(true)');
        const [first, second] = c.deliveries as [Delivery, Delivery];
        assert.equal(first.redelivered, false, 'first delivery redelivered flag');
        assert.equal(second.redelivered, true, 'second delivery redelivered flag');
        assert.equal(second.body.toString(), 'again', 'redelivered body');
        assert.deepEqual(second.headers['h'], 1, 'redelivered headers');
        await sleep(quietMs);
        assert.equal(c.deliveries.length, 2, 'acked after redelivery: no third delivery');
      }),
    );

    it(
      'reject(requeue=false) drops the message',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const q = await env.queue(b, 'drop');
        await b.publish('', q, msg('bye'));
        const c = env.collector();
        await b.consume(
          q,
          { prefetch: 1 },
          c.handler((d) => d.reject(false)),
        );
        await c.waitFor(1, 'drop');
        await sleep(quietMs);
        assert.equal(c.deliveries.length, 1, 'a rejected message must not be redelivered');
        assert.equal(await b.queueSize(q), 0, 'queueSize after reject(false)');
      }),
    );

    it(
      'reject(requeue=false) dead-letters to deadLetterExchange with deadLetterRoutingKey',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const dlx = env.name('dlx');
        await b.declareExchange(dlx, 'direct', { durable: false, autoDelete: true });
        const dlq = await env.queue(b, 'dlq');
        await b.bindQueue(dlq, dlx, 'dead');
        const q = await env.queue(b, 'dlsrc', { deadLetterExchange: dlx, deadLetterRoutingKey: 'dead' });
        await b.publish('', q, msg('poison', { headers: { task: 't' }, properties: { contentType: 'text/plain' } }));
        const c = env.collector();
        await b.consume(
          q,
          { prefetch: 1 },
          c.handler((d) => d.reject(false)),
        );
        await c.waitFor(1, 'source delivery');
        const dc = env.collector();
        await b.consume(
          dlq,
          { prefetch: 1 },
          dc.handler((d) => d.ack()),
        );
        await dc.waitFor(1, 'dead-lettered delivery');
        const d = dc.deliveries[0]!;
        assert.equal(d.body.toString(), 'poison', 'dead-lettered body');
        assert.equal(d.headers['task'], 't', 'dead-lettered headers keep the original ones');
        assert.equal(d.exchange, dlx, 'dead-lettered delivery exchange');
        assert.equal(d.routingKey, 'dead', 'dead-lettered delivery routing key');
        assert.equal(await b.queueSize(q), 0, 'source queue after dead-lettering');
      }),
    );

    it(
      'dead-lettering without deadLetterRoutingKey keeps the original routing key',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const dlx = env.name('dlx2');
        await b.declareExchange(dlx, 'direct', { durable: false, autoDelete: true });
        const dlq = await env.queue(b, 'dlq2');
        const q = await env.queue(b, 'dlsrc2', { deadLetterExchange: dlx });
        await b.bindQueue(dlq, dlx, q); // published on '' with routing key = q
        await b.publish('', q, msg('poison2'));
        const c = env.collector();
        await b.consume(
          q,
          { prefetch: 1 },
          c.handler((d) => d.reject(false)),
        );
        await c.waitFor(1, 'source delivery');
        assert.deepEqual(await drain(env, b, dlq, 1), ['poison2'], 'dead-letter queue contents');
      }),
    );

    it(
      'two consumers on one queue get each of 200 messages exactly once',
      T,
      withEnv(async (env) => {
        const b1 = await env.broker();
        const b2 = await env.broker();
        const q = await env.queue(b1, 'compete');
        const c1 = env.collector();
        const c2 = env.collector();
        const ackSoon = (d: Delivery): void => void setImmediate(() => d.ack());
        await b1.consume(q, { prefetch: 5 }, c1.handler(ackSoon));
        await b2.consume(q, { prefetch: 5 }, c2.handler(ackSoon));
        const n = 200;
        await Promise.all(Array.from({ length: n }, (_, i) => b1.publish('', q, msg(String(i)))));
        const total = (): number => c1.deliveries.length + c2.deliveries.length;
        const deadline = Date.now() + waitMs;
        while (total() < n && Date.now() < deadline) await sleep(10);
        await sleep(quietMs);
        const all = [...c1.bodies(), ...c2.bodies()];
        const dupes = all.filter((x, i) => all.indexOf(x) !== i);
        assert.deepEqual(dupes, [], `duplicate deliveries (consumer1 got ${c1.deliveries.length}, consumer2 got ${c2.deliveries.length})`);
        const missing = Array.from({ length: n }, (_, i) => String(i)).filter((x) => !all.includes(x));
        assert.deepEqual(missing, [], 'messages never delivered');
      }),
    );

    it(
      'cancel stops new deliveries; handed-out deliveries stay ackable',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const q = await env.queue(b, 'cancel');
        await b.publish('', q, msg('before'));
        const c = env.collector();
        const consumer: Consumer = await b.consume(q, { prefetch: 1 }, c.handler());
        assert.equal(typeof consumer.tag, 'string', 'consumer.tag');
        await c.waitFor(1, 'before cancel');
        await consumer.cancel();
        await b.publish('', q, msg('after'));
        await sleep(quietMs);
        assert.deepEqual(c.bodies(), ['before'], 'no delivery after cancel');
        c.deliveries[0]!.ack();
        await eventually('queueSize after cancel', () => b.queueSize(q), 1, waitMs);
        const c2 = env.collector();
        await b.consume(
          q,
          { prefetch: 5 },
          c2.handler((d) => d.ack()),
        );
        await c2.waitFor(1, 'new consumer');
        await sleep(quietMs);
        assert.deepEqual(c2.bodies(), ['after'], 'the acked-after-cancel message must not come back');
      }),
    );

    it(
      'noAck deliveries are removed on delivery',
      T,
      withEnv(async (env) => {
        const b1 = await env.broker();
        const q = await env.queue(b1, 'noack');
        for (let i = 0; i < 3; i++) await b1.publish('', q, msg(`n${i}`));
        const c = env.collector();
        await b1.consume(q, { prefetch: 1, noAck: true }, c.handler());
        await c.waitFor(3, 'noAck ignores prefetch and needs no ack');
        await b1.close();
        const b2 = await env.broker();
        assert.equal(await b2.queueSize(q), 0, 'queueSize after noAck deliveries and close');
        const c2 = env.collector();
        await b2.consume(q, { prefetch: 5 }, c2.handler());
        await sleep(quietMs);
        assert.deepEqual(c2.bodies(), [], 'noAck deliveries must not come back');
      }),
    );

    it(
      'close() returns unacked deliveries to the queue for another broker',
      T,
      withEnv(async (env) => {
        const b1 = await env.broker();
        const q = await env.queue(b1, 'closeback');
        for (let i = 0; i < 3; i++) await b1.publish('', q, msg(`u${i}`, { headers: {}, properties: { deliveryMode: 2 } }));
        const c1 = env.collector();
        await b1.consume(q, { prefetch: 10 }, c1.handler());
        await c1.waitFor(3, 'first broker');
        await b1.close();
        const b2 = await env.broker();
        const c2 = env.collector();
        await b2.consume(
          q,
          { prefetch: 10 },
          c2.handler((d) => d.ack()),
        );
        await c2.waitFor(3, 'second broker after the first closed with unacked deliveries');
        assert.deepEqual(c2.bodies().sort(), ['u0', 'u1', 'u2'], 'returned bodies');
        assert.ok(
          c2.deliveries.every((d) => d.redelivered),
          'returned messages must be flagged redelivered',
        );
      }),
    );

    it(
      'publish on a closed broker rejects with BrokerError (it does not throw)',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const q = await env.queue(b, 'afterclose');
        await b.close();
        let p: Promise<void> | undefined;
        assert.doesNotThrow(() => {
          p = b.publish('', q, msg('late'));
        });
        await assert.rejects(p!, (err: unknown) => err instanceof BrokerError && err.code === 'CELERYTS_BROKER');
      }),
    );

    it(
      'a handler that throws neither stops the consumer nor loses the message',
      T,
      withEnv(async (env) => {
        const b1 = await env.broker();
        const errors: Error[] = [];
        b1.on('error', (e) => errors.push(e));
        const q = await env.queue(b1, 'throws');
        await b1.publish('', q, msg('poison'));
        await b1.publish('', q, msg('fine'));
        const seen: string[] = [];
        await b1.consume(q, { prefetch: 10 }, (d) => {
          seen.push(d.body.toString());
          if (d.body.toString() === 'poison') throw new Error('handler failure (expected by the test)');
          d.ack();
        });
        const deadline = Date.now() + waitMs;
        while (!seen.includes('fine') && Date.now() < deadline) await sleep(10);
        assert.ok(seen.includes('fine'), `consumer must keep delivering after a handler throws; saw [${seen.join(', ')}]`);
        await b1.close();
        const b2 = await env.broker();
        const c2 = env.collector();
        await b2.consume(
          q,
          { prefetch: 10 },
          c2.handler((d) => d.ack()),
        );
        await c2.waitFor(1, 'the message whose handler threw');
        assert.deepEqual(c2.bodies(), ['poison'], 'the message whose handler threw must survive');
      }),
    );

    it(
      'per-message expiration and queue messageTtlMs drop expired messages',
      T,
      withEnv(async (env, t) => {
        const b = await env.broker();
        if (!b.capabilities.messageTtl) {
          await assert.rejects(env.queue(b, 'ttl-refused', { messageTtlMs: 60 }), BrokerError, 'messageTtlMs on a broker without it must be refused');
          return t.skip('capabilities.messageTtl is false: messageTtlMs refused (checked), expiry not enforced');
        }
        const q = await env.queue(b, 'expire');
        const qt = await env.queue(b, 'ttl', { messageTtlMs: 60 });
        // Each queue: an expired message, then a fresh one consumed at once (well within the TTL).
        await b.publish('', q, msg('stale', { headers: {}, properties: { expiration: '20' } }));
        await sleep(80);
        await b.publish('', q, msg('fresh'));
        assert.deepEqual(await drain(env, b, q, 1), ['fresh'], 'per-message expiration');
        await b.publish('', qt, msg('stale'));
        await sleep(120);
        await b.publish('', qt, msg('fresh'));
        assert.deepEqual(await drain(env, b, qt, 1), ['fresh'], 'queue messageTtlMs');
      }),
    );

    it(
      'an exclusive queue is removed when its broker closes',
      T,
      withEnv(async (env) => {
        const b1 = await env.broker();
        // Brokers without exclusive queues take it as autoDelete (supportedQueueOptions).
        const q = await env.queue(b1, 'exclusive', supportedQueueOptions(b1, { exclusive: true, durable: false }));
        assert.equal(await b1.queueSize(q), 0, 'exclusive queue exists while its broker is open');
        await b1.close();
        const b2 = await env.broker();
        await eventually('queueSize of an exclusive queue after its broker closed', () => b2.queueSize(q), undefined, waitMs);
      }),
    );

    // Delayed publishes (PublishOptions.delayMs). The port lets an adapter return a delayed
    // message early (RabbitMQ's tiers round down to a power of two seconds, at least 1 s) but
    // never more than about a second late; `exactDelay` adapters never return it early.
    const earliest = (delayMs: number): number => (opts.exactDelay ? delayMs : Math.min(delayMs, 1000) - 100);
    const latest = (delayMs: number): number => Math.max(delayMs, 1000) + 1500;

    // These two spend their time waiting: run side by side (separate queues and brokers).
    describe('delayed publishes', { concurrency: true }, () => {
      it(
        'a delayed publish is held back, then arrives intact on another broker',
        { timeout: 8000 },
        withEnv(async (env) => {
          const pub = await env.broker();
          const sub = await env.broker(); // another process, as far as the store is concerned
          const q = await env.queue(pub, 'delay');
          const body = Buffer.from([0, 1, 2, 255, 10]);
          const headers = { task: 'proj.tasks.add', id: 'd-1', eta: '2030-01-01T00:00:00+00:00', retries: 0, nested: { a: [1, 'x', null] } };
          const properties = { contentType: 'application/json', correlationId: 'd-1', replyTo: 'reply.q', deliveryMode: 2 as const, messageId: 'm-d' };
          const c = env.collector();
          await sub.consume(
            q,
            { prefetch: 10 },
            c.handler((d) => d.ack()),
          );
          const delayMs = 1500;
          const sentAt = Date.now();
          await pub.publish('', q, { body, headers, properties }, { delayMs });
          assert.equal(await pub.queueSize(q), 0, 'a delayed message is not ready yet');
          await c.waitFor(1, 'delayed delivery', latest(delayMs));
          const waited = c.arrivals[0]! - sentAt;
          assert.ok(waited >= earliest(delayMs), `delivered after ${waited} ms, before the earliest allowed ${earliest(delayMs)} ms`);
          const d = c.deliveries[0]!;
          assert.ok(d.body.equals(body), 'body bytes');
          for (const [k, v] of Object.entries(headers)) assert.deepEqual(d.headers[k], v, `header ${k}`);
          for (const [k, v] of Object.entries(properties)) assert.deepEqual(d.properties[k as keyof typeof properties], v, `property ${k}`);
          assert.equal(d.exchange, '', 'delivery.exchange');
          assert.equal(d.routingKey, q, 'delivery.routingKey');
          assert.equal(d.redelivered, false, 'a delayed message is a first delivery');
          await sleep(quietMs);
          assert.equal(c.deliveries.length, 1, 'delivered once');
        }),
      );

      it(
        '200 delayed publishes with mixed delays all arrive once, none early',
        { timeout: 10_000 },
        withEnv(async (env) => {
          const pub = await env.broker();
          const sub = await env.broker();
          const q = await env.queue(pub, 'delaymany');
          const n = 200;
          const delays = Array.from({ length: n }, (_, i) => 200 + ((i * 37) % 2000)); // 0.2 to 2.2 s, shuffled
          const c = env.collector();
          await sub.consume(
            q,
            { prefetch: 50 },
            c.handler((d) => d.ack()),
          );
          const sentAt = Date.now();
          await Promise.all(delays.map((delayMs, i) => pub.publish('', q, msg(String(i)), { delayMs })));
          await c.waitFor(n, 'all delayed messages', latest(Math.max(...delays)) + 500);
          await sleep(quietMs);
          const got = c.bodies();
          const dupes = got.filter((x, i) => got.indexOf(x) !== i);
          assert.deepEqual(dupes, [], 'duplicate deliveries');
          assert.equal(got.length, n, 'delivery count');
          const early = c.deliveries
            .map((d, k) => ({ i: Number(d.body.toString()), waited: c.arrivals[k]! - sentAt }))
            .filter(({ i, waited }) => waited < earliest(delays[i]!))
            .map(({ i, waited }) => `#${i} asked ${delays[i]} ms, came after ${waited} ms`);
          assert.deepEqual(early, [], 'delivered too early');
        }),
      );
    });

    it(
      'delayMs is refused off the default exchange; delayMs 0 publishes at once',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const ex = env.name('delayx');
        await b.declareExchange(ex, 'direct', { durable: false, autoDelete: true });
        const q = await env.queue(b, 'delayx');
        await b.bindQueue(q, ex, 'k');
        await assert.rejects(b.publish(ex, 'k', msg('refused'), { delayMs: 1000 }), BrokerError, 'delayMs on a named exchange');
        await assert.rejects(b.publish('', q, msg('nan'), { delayMs: Number.NaN }), BrokerError, 'delayMs NaN');
        await b.publish(ex, 'k', msg('now-ex'), { delayMs: 0 });
        await b.publish('', q, msg('now-default'), { delayMs: 0 });
        assert.deepEqual(await drain(env, b, q, 2), ['now-default', 'now-ex'], 'queue contents (the refused publish never arrives)');
      }),
    );

    it(
      'a dead-letter queue read by `dlq list` (DeadLetterQueue open, release) holds every message again at once; purge and replay settle theirs',
      T,
      withEnv(async (env) => {
        const b = await env.broker();
        const dead = await env.queue(b, 'dlq-read');
        const home = await env.queue(b, 'dlq-home');
        for (const id of ['d1', 'd2', 'd3']) await b.publish('', dead, msg(id, { headers: { id, task: 't.x' }, properties: { contentType: 'text/plain' } }));
        const size = (): Promise<number | undefined> => b.queueSize(dead);
        await eventually('messages in the dead-letter queue', size, 3, waitMs);
        const listed = await DeadLetterQueue.open(b, dead);
        assert.deepEqual(listed.messages.map((m) => m.id).sort(), ['d1', 'd2', 'd3']);
        await listed.release();
        // Right away, not after a visibility timeout: the next `dlq show` must find them.
        await eventually('messages back after release', size, 3, waitMs);
        const q = await DeadLetterQueue.open(b, dead);
        assert.equal(q.messages.length, 3, 'a second reader sees all three');
        await q.purge(q.select(['d1'])[0]!);
        assert.equal(await q.replay(q.select(['d2'])[0]!, home), home);
        await q.release();
        await eventually('only the message neither purged nor replayed is left', size, 1, waitMs);
        assert.deepEqual(await drain(env, b, home, 1), ['d2'], 'the replayed message on its queue');
      }),
    );

    it(
      'priority queues deliver in priority order (higher first on AMQP, lower first on Redis)',
      { ...T, skip: opts.priority ? false : 'priority not supported by this adapter' },
      withEnv(async (env) => {
        const b = await env.broker();
        const lowerFirst = b.capabilities.priority === 'lower-first';
        const q = await env.queue(b, 'prio', lowerFirst ? {} : { maxPriority: 9 });
        await b.publish('', q, msg('low', { headers: {}, properties: { priority: 1 } }));
        await b.publish('', q, msg('none'));
        await b.publish('', q, msg('high', { headers: {}, properties: { priority: 9 } }));
        await b.publish('', q, msg('mid', { headers: {}, properties: { priority: 5 } }));
        const c = env.collector();
        await b.consume(
          q,
          { prefetch: 1 },
          c.handler((d) => setImmediate(() => d.ack())),
        );
        await c.waitFor(4, 'priority');
        // kombu's steps on Redis: 0-2 (low and none, in publish order), 3-5 (mid), 9 (high).
        assert.deepEqual(c.bodies(), lowerFirst ? ['low', 'none', 'mid', 'high'] : ['high', 'mid', 'low', 'none'], 'delivery order by priority');
      }),
    );
  });
}
