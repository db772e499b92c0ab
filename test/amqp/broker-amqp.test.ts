/**
 * The amqp adapter against a real RabbitMQ (amqp://guest:guest@127.0.0.1:5672, override with
 * CELERYTS_TEST_AMQP_URL): the shared conformance suite, then what only amqp has: URL masking,
 * confirm pipelining, ack batching, recovery from a connection killed by the server, and a
 * consumer whose queue is deleted under it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import type { Channel, ConfirmChannel, Message } from 'amqplib';
import type { Delivery, OutgoingMessage } from '../../src/core/broker.js';
import { BrokerError } from '../../src/core/errors.js';
import { AckBatcher } from '../../src/transport/amqp/ack-batcher.js';
import { AmqpBroker } from '../../src/transport/amqp/amqp-broker.js';
import { ConfirmPublisher } from '../../src/transport/amqp/confirm-publisher.js';
import { TIER_DURATIONS_MS, tierFor, tierName } from '../../src/transport/amqp/delay-tiers.js';
import { maskUrl, redactPassword } from '../../src/util/mask-url.js';
import type { AmqpBrokerOptions, AmqpLogger } from '../../src/transport/amqp/options.js';
import { runBrokerConformance } from '../support/broker-conformance.js';

const BROKER_URL = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Collects what the adapter logs, so tests stay quiet and can assert on it. */
function recordingLogger(): AmqpLogger & { lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (obj: object, msg: string) =>
    void lines.push(`${level} ${msg} ${JSON.stringify(obj, (_k, v: unknown) => (v instanceof Error ? v.message : v))}`);
  return { lines, debug: record('debug'), warn: record('warn'), error: record('error') };
}

function makeBroker(options: AmqpBrokerOptions = {}): AmqpBroker {
  return new AmqpBroker(BROKER_URL, { logger: recordingLogger(), ...options });
}

function msg(body: string): OutgoingMessage {
  return { body: Buffer.from(body), headers: {}, properties: { contentType: 'text/plain' } };
}

const unique = (what: string): string => `amqp-test.${what}.${randomBytes(4).toString('hex')}`;

/** Poll until `probe()` is true or fail with `what`. */
async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

// Delay tiers of their own, so the suite never touches the tiers of other users of the server.
const delayTierPrefix = unique('delay');
runBrokerConformance('amqp', () => makeBroker({ delayTierPrefix }), { priority: true, after: () => deleteDelayTiers(delayTierPrefix) });

/** Delete the tier queues a run may have declared; their auto-delete exchanges go with them. */
async function deleteDelayTiers(prefix: string): Promise<void> {
  const b = makeBroker();
  await b.connect();
  try {
    for (const ms of TIER_DURATIONS_MS) await b.deleteQueue(tierName(prefix, ms));
  } finally {
    await b.close();
  }
}

describe('maskUrl', () => {
  it('masks the password of any scheme and keeps the rest', () => {
    assert.equal(maskUrl('amqp://guest:guest@localhost:5672//'), 'amqp://guest:****@localhost:5672//');
    assert.equal(maskUrl('amqps://u:p%40ss@h/vh?heartbeat=10'), 'amqps://u:****@h/vh?heartbeat=10');
    assert.equal(maskUrl('redis://:secret@redis:6379/0'), 'redis://:****@redis:6379/0');
    assert.equal(maskUrl('sqs://AKIA:abc/def+ghi@'), 'sqs://AKIA:****@', 'unencoded / in the secret');
    assert.equal(maskUrl('amqp://u:pa@ss@host/v'), 'amqp://u:****@host/v', 'unencoded @ in the password');
    assert.equal(maskUrl('user:pw@host'), 'user:****@host', 'no scheme');
  });

  it('leaves URLs without a password alone', () => {
    for (const u of ['amqp://localhost', 'amqp://user@host:5672/v', 'file:///var/celeryts', 'amqp://host/v?x=a@b']) {
      assert.equal(maskUrl(u), u);
    }
  });

  it('redacts raw and percent-decoded passwords from free text', () => {
    assert.equal(redactPassword('failed for p@ss and p%40ss', 'amqp://u:p%40ss@h'), 'failed for **** and ****');
  });

  it('displayUrl is masked, and a refused login names the masked URL only', async () => {
    const bad = BROKER_URL.replace(/\/\/([^:]+):[^@]*@/, '//$1:wrong-secret-pw@');
    const broker = new AmqpBroker(bad, { logger: recordingLogger() });
    assert.equal(broker.transport, 'amqp');
    assert.ok(!broker.displayUrl.includes('wrong-secret-pw'), broker.displayUrl);
    const events: string[] = [];
    broker.on('error', (e) => events.push(e.message));
    const err: unknown = await broker.connect().then(
      () => assert.fail('connect with a wrong password must reject'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof BrokerError, String(err));
    assert.match(err.message, /ACCESS_REFUSED/);
    assert.ok(err.message.includes(broker.displayUrl), err.message);
    const chain = JSON.stringify(err, Object.getOwnPropertyNames(err)) + String(err.cause ?? '') + err.stack;
    assert.ok(!chain.includes('wrong-secret-pw'), 'the password leaked into the error');
    assert.deepEqual(events, [], "a failed first connect rejects connect() and does not emit 'error'");
    await broker.close();
  });

  it('an invalid URL fails in the constructor without echoing the password', () => {
    assert.throws(
      () => new AmqpBroker('amqp://u:topsecret@[bad', {}),
      (e: Error) => !e.message.includes('topsecret') && e.message.includes('****'),
    );
  });
});

describe('AckBatcher (fake channel)', () => {
  type Frame = [string, number, boolean, boolean?];
  function fakeChannel(): { frames: Frame[]; channel: Channel } {
    const frames: Frame[] = [];
    const channel = {
      ack: (m: Message, multiple?: boolean) => void frames.push(['ack', m.fields.deliveryTag, multiple ?? false]),
      nack: (m: Message, multiple?: boolean, requeue?: boolean) => void frames.push(['nack', m.fields.deliveryTag, multiple ?? false, requeue ?? true]),
    } as unknown as Channel;
    return { frames, channel };
  }
  const message = (tag: number): Message => ({ fields: { deliveryTag: tag } }) as unknown as Message;

  it('coalesces a run of acks from the oldest unsettled delivery into one multiple ack', () => {
    const { frames, channel } = fakeChannel();
    const b = new AckBatcher(channel);
    for (let t = 1; t <= 6; t++) b.track(message(t));
    for (const t of [2, 1, 3, 5]) b.ack(t);
    b.flush();
    // 4 is still unsettled: 1..3 go as one multiple ack, 5 must go alone.
    assert.deepEqual(frames, [
      ['ack', 3, true],
      ['ack', 5, false],
    ]);
    b.ack(4);
    b.ack(6);
    b.flush();
    assert.deepEqual(frames.slice(2), [['ack', 6, true]], '4 and 6 are now the whole unsettled set');
    assert.equal(b.unsettledCount, 0);
  });

  it('never lets a multiple ack cover a rejected or unsettled delivery', () => {
    const { frames, channel } = fakeChannel();
    const b = new AckBatcher(channel);
    for (let t = 1; t <= 4; t++) b.track(message(t));
    b.ack(1);
    b.reject(2, true); // goes out at once
    b.ack(3);
    b.flush();
    // 2 was nacked before the flush, so on the server 1 and 3 are the only unacked tags <= 3.
    assert.deepEqual(frames, [
      ['nack', 2, false, true],
      ['ack', 3, true],
    ]);
    assert.equal(b.unsettledCount, 1, 'tag 4 is still out');
  });

  it('ignores double settles and everything after the channel died', () => {
    const { frames, channel } = fakeChannel();
    const b = new AckBatcher(channel);
    b.track(message(1));
    b.track(message(2));
    b.ack(1);
    b.ack(1);
    b.reject(1, false);
    b.flush();
    b.ack(1);
    b.flush();
    assert.deepEqual(frames, [['ack', 1, false]]);
    b.kill();
    b.ack(2);
    b.reject(2, true);
    b.flush();
    assert.deepEqual(frames, [['ack', 1, false]], 'a dead incarnation sends nothing');
  });

  it('flushes by itself at the end of the event-loop turn', async () => {
    const { frames, channel } = fakeChannel();
    const b = new AckBatcher(channel);
    for (let t = 1; t <= 3; t++) b.track(message(t));
    for (let t = 1; t <= 3; t++) b.ack(t);
    assert.deepEqual(frames, [], 'nothing sent synchronously');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(frames, [['ack', 3, true]]);
  });
});

describe('ConfirmPublisher (fake channel)', () => {
  class FakeConfirmChannel extends EventEmitter {
    readonly written: string[] = [];
    /** publish() returns false from this many writes on (backpressure). */
    fullAfter = Infinity;
    publish(exchange: string, routingKey: string, content: Buffer): boolean {
      this.written.push(`${exchange}/${routingKey}/${content.toString()}`);
      return this.written.length < this.fullAfter;
    }
    ack(tag: number, multiple = false): void {
      this.emit('ack', { deliveryTag: tag, multiple });
    }
    nack(tag: number, multiple = false): void {
      this.emit('nack', { deliveryTag: tag, multiple, requeue: false });
    }
    closed = false;
    async close(): Promise<void> {
      this.closed = true;
    }
  }
  const asChannel = (c: FakeConfirmChannel): ConfirmChannel => c as unknown as ConfirmChannel;
  const settled = <T>(p: Promise<T>): Promise<string> =>
    p.then(
      () => 'ok',
      (e: Error) => `err:${e.message}`,
    );
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

  it('writes every publish before any confirm and settles them by sequence number', async () => {
    const failed: Error[] = [];
    const pub = new ConfirmPublisher(100, { channelFailed: (e) => void failed.push(e) });
    const ch = new FakeConfirmChannel();
    pub.attach(asChannel(ch));
    const results = ['a', 'b', 'c', 'd', 'e'].map((s) => settled(pub.publish('', 'q', Buffer.from(s), {})));
    assert.equal(ch.written.length, 5, 'pipelined: all five written with no confirm yet');
    ch.ack(3, true);
    assert.deepEqual(failed, []);
    // A nack replaces the channel (a quorum queue's channel can go on nacking after a failover),
    // but the old one is still listened to for d, in flight on it.
    ch.nack(5);
    assert.equal(failed.length, 1, 'a new channel was asked for');
    assert.equal(ch.closed, false, 'd is still in flight on the nacking channel');
    ch.ack(4);
    assert.ok(ch.closed, 'closed once nothing is in flight on it');
    const next = new FakeConfirmChannel();
    pub.attach(asChannel(next));
    assert.deepEqual(next.written, ['/q/e'], 'only the nacked publish goes out again');
    next.nack(1); // nacked twice: rejected
    const out = await Promise.all(results);
    assert.deepEqual(out.slice(0, 4), ['ok', 'ok', 'ok', 'ok']);
    assert.match(out[4]!, /^err:.*basic\.nack, twice/);
    assert.equal(pub.pending, 0);
    assert.equal(pub.resent, 1);
  });

  it('after a nack, resolves what the old channel still acks and resends only what it nacked or never confirmed', async () => {
    const failed: Error[] = [];
    const pub = new ConfirmPublisher(100, { channelFailed: (e) => void failed.push(e) }, 50);
    const old = new FakeConfirmChannel();
    pub.attach(asChannel(old));
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((s) => settled(pub.publish('', 'q', Buffer.from(s), {})));
    old.nack(2); // b
    assert.equal(failed.length, 1, 'a new channel is asked for at once');
    assert.equal(old.closed, false, 'c, d and e are still in flight on the old channel');
    const f = settled(pub.publish('', 'q', Buffer.from('f'), {}));
    assert.equal(old.written.length, 5, 'nothing more is written to the channel that nacked');
    const next = new FakeConfirmChannel();
    pub.attach(asChannel(next)); // while the old one drains
    assert.deepEqual(next.written, ['/q/b', '/q/f'], 'the nacked publish once, then the new one, in order');
    // a and c had been enqueued: their acks come on the old channel after the nack.
    old.ack(1);
    old.ack(3);
    old.nack(4); // d: sent once more, on the new channel
    const g = settled(pub.publish('', 'q', Buffer.from('g'), {}));
    assert.deepEqual(next.written, ['/q/b', '/q/f', '/q/d', '/q/g'], 'a and c are not written again');
    assert.deepEqual(await Promise.all([a, c]), ['ok', 'ok']);
    // e is never confirmed on the old channel: at the end of its grace it goes out again.
    await until('e is written again', () => next.written.length === 5);
    assert.equal(next.written[4], '/q/e');
    assert.ok(old.closed, 'the old channel is closed after its grace');
    old.ack(5); // too late: no longer listened to
    // Tags on the new channel start at 1: b=1 f=2 d=3 g=4 e=5.
    next.ack(2, true);
    next.nack(3); // d nacked a second time: rejected
    next.ack(5, true);
    assert.deepEqual(await Promise.all([b, f, g, e]), ['ok', 'ok', 'ok', 'ok']);
    assert.match(await d!, /^err:.*basic\.nack, twice/);
    assert.equal(failed.length, 2, 'the second nack asked for another channel');
    assert.ok(next.closed, 'the second channel closed once drained');
    assert.equal(pub.pending, 0);
    assert.equal(pub.resent, 3, 'b, d and e were written twice');
  });

  it('a nacking channel that closes before its grace ends: what it held unconfirmed is resent', async () => {
    const pub = new ConfirmPublisher(100, { channelFailed: () => {} }, 60_000);
    const old = new FakeConfirmChannel();
    pub.attach(asChannel(old));
    const results = ['a', 'b', 'c'].map((s) => settled(pub.publish('', 'q', Buffer.from(s), {})));
    old.nack(1);
    const next = new FakeConfirmChannel();
    pub.attach(asChannel(next));
    old.ack(2);
    old.emit('close'); // its connection went away: c may or may not have been enqueued
    assert.deepEqual(next.written, ['/q/a', '/q/c']);
    next.ack(2, true);
    assert.deepEqual(await Promise.all(results), ['ok', 'ok', 'ok']);
    assert.equal(pub.resent, 2);
  });

  it('holds publishes back while the channel buffer is full, until drain', async () => {
    const pub = new ConfirmPublisher(100, { channelFailed: () => {} });
    const ch = new FakeConfirmChannel();
    ch.fullAfter = 2;
    pub.attach(asChannel(ch));
    const results = [1, 2, 3, 4].map((i) => settled(pub.publish('', 'q', Buffer.from(String(i)), {})));
    assert.equal(ch.written.length, 2, 'the second write reported a full buffer; the rest wait');
    ch.fullAfter = Infinity;
    ch.emit('drain');
    assert.deepEqual(ch.written, ['/q/1', '/q/2', '/q/3', '/q/4'], 'order kept across the pause');
    ch.ack(4, true);
    assert.deepEqual(await Promise.all(results), ['ok', 'ok', 'ok', 'ok']);
  });

  it('resends unconfirmed publishes, in order, on the next channel after a connection loss', async () => {
    const pub = new ConfirmPublisher(100, { channelFailed: () => assert.fail('not a channel error') });
    const first = new FakeConfirmChannel();
    pub.attach(asChannel(first));
    const results = [1, 2, 3].map((i) => settled(pub.publish('', 'q', Buffer.from(String(i)), {})));
    first.ack(1);
    first.emit('close'); // no 'error' before it: the connection went away
    const waiting = settled(pub.publish('', 'q', Buffer.from('4'), {}));
    await turn();
    const second = new FakeConfirmChannel();
    pub.attach(asChannel(second));
    assert.deepEqual(second.written, ['/q/2', '/q/3', '/q/4']);
    second.ack(3, true);
    assert.deepEqual(await Promise.all([...results, waiting]), ['ok', 'ok', 'ok', 'ok']);
    assert.equal(pub.resent, 2, '2 and 3 were written twice');
  });

  it('after a server channel error, rejects the publishes to the blamed exchange and resends the rest', async () => {
    const failed: Error[] = [];
    const pub = new ConfirmPublisher(100, { channelFailed: (e) => void failed.push(e) });
    const first = new FakeConfirmChannel();
    pub.attach(asChannel(first));
    const good = settled(pub.publish('', 'q', Buffer.from('good'), {}));
    const bad = settled(pub.publish('nope', 'k', Buffer.from('bad'), {}));
    const err = Object.assign(new Error(`Channel closed by server: 404 (NOT-FOUND) with message "NOT_FOUND - no exchange 'nope' in vhost '/'"`), { code: 404 });
    first.emit('error', err);
    first.emit('close');
    assert.match(await bad, /^err:.*no exchange 'nope'/);
    assert.equal(failed.length, 1, 'the broker is asked for a new channel');
    const second = new FakeConfirmChannel();
    pub.attach(asChannel(second));
    assert.deepEqual(second.written, ['/q/good']);
    second.ack(1);
    assert.equal(await good, 'ok');
  });

  it('bounds the publishes buffered while disconnected, and close() rejects what is left', async () => {
    const pub = new ConfirmPublisher(2, { channelFailed: () => {} });
    const a = settled(pub.publish('', 'q', Buffer.from('a'), {}));
    const b = settled(pub.publish('', 'q', Buffer.from('b'), {}));
    assert.match(await settled(pub.publish('', 'q', Buffer.from('c'), {})), /already waiting/);
    pub.close(new BrokerError('closed'));
    assert.deepEqual(await Promise.all([a, b]), ['err:closed', 'err:closed']);
  });
});

/** amqplib's promise-API Channel prototype (not exported: loaded by path, same module instance). */
function amqplibChannelPrototype(): { consume: Channel['consume'] } {
  const require = createRequire(import.meta.url);
  const model = require(require.resolve('amqplib').replace(/channel_api\.js$/, 'lib/channel_model.js')) as {
    Channel: { prototype: { consume: Channel['consume'] } };
  };
  return model.Channel.prototype;
}

/** Close every server-side connection named `name` (only ours: the RabbitMQ may be shared). */
async function killConnections(name: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q']);
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${name}"}`))
    .map((line) => line.split('\t')[0]!)
    .filter(Boolean);
  for (const pid of pids) await run('rabbitmqctl', ['close_connection', pid, 'test']);
  return pids.length;
}

describe('amqp adapter specifics (RabbitMQ)', { concurrency: false, timeout: 20_000 }, () => {
  it('pipelines confirms: 2,000 concurrent publishes all resolve and all arrive', async () => {
    const b = makeBroker();
    await b.connect();
    const q = unique('pipeline');
    try {
      await b.declareQueue(q, { durable: false });
      const n = 2000;
      const body = 'x'.repeat(200);
      // Enough frames to overflow amqplib's channel buffer (1,024), so 'drain' is exercised too.
      await Promise.all(Array.from({ length: n }, (_, i) => b.publish('', q, msg(`${i}:${body}`))));
      const seen = new Set<string>();
      await b.consume(q, { prefetch: 500 }, (d) => {
        seen.add(d.body.toString().split(':')[0]!);
        d.ack();
      });
      await until(`${n} deliveries (have ${seen.size})`, () => seen.size === n);
    } finally {
      await b.deleteQueue(q);
      await b.close();
    }
  });

  it('batched acks leave nothing unacked, even with out-of-order acks and requeues', async () => {
    const logger = recordingLogger();
    const b = new AmqpBroker(BROKER_URL, { logger });
    await b.connect();
    const q = unique('acks');
    try {
      await b.declareQueue(q, { durable: false });
      const n = 300;
      await Promise.all(Array.from({ length: n }, (_, i) => b.publish('', q, msg(String(i)))));
      const acked = new Set<string>();
      const requeued = new Set<string>();
      const redeliveredOk = new Set<string>();
      const held: Delivery[] = [];
      await b.consume(q, { prefetch: 0 }, (d) => {
        const i = Number(d.body.toString());
        if (d.redelivered) {
          redeliveredOk.add(String(i));
          d.ack();
        } else if (i % 7 === 0) {
          requeued.add(String(i));
          d.reject(true); // must come back: no multiple ack may cover it
        } else if (i % 3 === 0) {
          held.push(d); // acked later, out of order
        } else {
          d.ack();
        }
        acked.add(String(i));
      });
      await until('every message seen once', () => acked.size === n);
      for (const d of held.reverse()) setImmediate(() => d.ack());
      await until('requeued ones redelivered', () => redeliveredOk.size === requeued.size);
      await sleep(100);
      await b.close();
      assert.deepEqual(
        logger.lines.filter((l) => /channel closed|PRECONDITION/.test(l)),
        [],
        'the consumer channel must never be closed by the server',
      );

      const b2 = makeBroker();
      await b2.connect();
      assert.equal(await b2.queueSize(q), 0, 'nothing went back to the queue at close');
      const late: string[] = [];
      await b2.consume(q, { prefetch: 10 }, (d) => void late.push(d.body.toString()));
      await sleep(200);
      assert.deepEqual(late, [], 'no redelivery after close: every ack reached the server');
      await b2.deleteQueue(q);
      await b2.close();
    } finally {
      await b.close();
    }
  });

  it('recovers from a connection closed by the server: resumes consuming, redeclares, resends, never acks a stale tag', async () => {
    const name = unique('conn');
    const logger = recordingLogger();
    const b = new AmqpBroker(BROKER_URL, { logger, connectionName: name });
    const events: string[] = [];
    const errors: Error[] = [];
    b.on('disconnected', () => void events.push('disconnected'));
    b.on('reconnected', () => void events.push('reconnected'));
    b.on('error', (e) => void errors.push(e));
    await b.connect();
    const q = unique('recover');
    const ex = unique('recover-ex');
    const observer = makeBroker();
    await observer.connect();
    try {
      // A transient, non-auto-delete queue survives the connection; the exclusive one does not
      // and must be redeclared (with its binding) by the adapter.
      await b.declareQueue(q, { durable: false });
      await b.declareExchange(ex, 'direct', { durable: false, autoDelete: true }); // goes with the exclusive queue's binding
      const exclusive = unique('recover-excl');
      await b.declareQueue(exclusive, { exclusive: true, durable: false });
      await b.bindQueue(exclusive, ex, 'k');

      const received: Delivery[] = [];
      const held: Delivery[] = [];
      await b.consume(q, { prefetch: 20 }, (d) => {
        received.push(d);
        if (held.length < 5 && !d.redelivered)
          held.push(d); // left unacked across the loss
        else d.ack();
      });
      const first = Array.from({ length: 100 }, (_, i) => b.publish('', q, msg(String(i))));
      await Promise.all(first);
      await until('held deliveries', () => held.length === 5);

      // Keep publishing, in unawaited bursts, while the server kills the connection: some
      // publishes are unconfirmed when it dies (resent), some are issued while it is down (buffered).
      let sent = 100;
      let stop = false;
      const inFlight: Promise<void>[] = [];
      const publishing = (async () => {
        while (!stop) {
          for (let k = 0; k < 10; k++) inFlight.push(b.publish('', q, msg(String(sent++))));
          await sleep(2);
        }
      })();
      await sleep(20);
      assert.ok((await killConnections(name)) >= 1, 'found our connection in rabbitmqctl list_connections');
      await until("'reconnected'", () => events.includes('reconnected'));
      for (const d of held) d.ack(); // stale: must be a no-op, not PRECONDITION_FAILED on the new channel
      await sleep(50);
      stop = true;
      await publishing;
      await Promise.all(inFlight); // every publish resolves: resent or buffered, none rejected

      const bodies = (): Set<string> => new Set(received.map((d) => d.body.toString()));
      await until(`all ${sent} messages (have ${bodies().size})`, () => bodies().size === sent);
      const heldBodies = held.map((d) => d.body.toString());
      await until('held messages redelivered', () => heldBodies.every((h) => received.some((d) => d.redelivered && d.body.toString() === h)));
      assert.deepEqual(events, ['disconnected', 'reconnected']);
      assert.deepEqual(errors, []);

      await assert.rejects(observer.queueSize(exclusive), /RESOURCE_LOCKED/, 'the exclusive queue is owned by a connection...');
      assert.equal(await b.queueSize(exclusive), 0, '...but it was redeclared on the new connection');
      await b.publish(ex, 'k', msg('via-binding'));
      await until('binding restored', async () => (await b.queueSize(exclusive)) === 1);

      await sleep(100); // let any late channel error surface
      assert.deepEqual(
        logger.lines.filter((l) => /PRECONDITION|unknown delivery tag|channel closed/.test(l)),
        [],
      );
      assert.ok(!logger.lines.some((l) => l.includes('guest:guest')), 'no credentials in logs');
    } finally {
      await b.deleteQueue(q).catch(() => {});
      await b.close();
      await observer.deleteQueue(q).catch(() => {});
      await observer.close();
    }
  });

  it('a consumer cancelled because its queue was deleted elsewhere resubscribes once the queue is redeclared', async () => {
    const logger = recordingLogger();
    const b = new AmqpBroker(BROKER_URL, { logger });
    const errors: Error[] = [];
    b.on('error', (e) => void errors.push(e));
    await b.connect();
    const other = makeBroker();
    await other.connect();
    const q = unique('cancelled');
    const ex = unique('cancelled-ex');
    try {
      await b.declareExchange(ex, 'direct', { durable: false, autoDelete: true });
      await b.declareQueue(q, { durable: false });
      await b.bindQueue(q, ex, 'k');
      const got: string[] = [];
      await b.consume(q, { prefetch: 5 }, (d) => {
        got.push(d.body.toString());
        d.ack();
      });
      await b.publish(ex, 'k', msg('before'));
      await until('first delivery', () => got.includes('before'));

      await other.deleteQueue(q); // the server cancels b's consumer
      // Publish through the exchange until a message arrives: proves the queue, its binding and
      // the subscription are all back.
      let i = 0;
      await until('delivery after the queue was deleted', async () => {
        // The exchange is auto-delete, so it went with the queue's binding until b redeclares
        // it: publishes in that window are refused (404), which is fine here.
        await other.publish(ex, 'k', msg(`after-${i++}`)).catch(() => {});
        await sleep(20);
        return got.some((g) => g.startsWith('after-'));
      });
      assert.deepEqual(errors, []);
      assert.ok(
        logger.lines.some((l) => l.includes('cancelled a consumer')),
        'the cancel was noticed',
      );
    } finally {
      await b.deleteQueue(q).catch(() => {});
      await b.close();
      await other.close();
    }
  });

  it('a queue deleted through the same broker ends its consumers quietly', async () => {
    const b = makeBroker();
    const errors: Error[] = [];
    b.on('error', (e) => void errors.push(e));
    await b.connect();
    const q = unique('selfdelete');
    await b.declareQueue(q, { durable: false });
    const consumer = await b.consume(q, { prefetch: 1 }, (d) => d.ack());
    await b.deleteQueue(q);
    await sleep(100);
    assert.equal(await b.queueSize(q), undefined, 'not redeclared');
    assert.deepEqual(errors, []);
    await consumer.cancel(); // a no-op now, must not throw
    await b.close();
  });

  it('a publish to a missing exchange rejects without disturbing other publishes or consumers', async () => {
    const logger = recordingLogger();
    const b = new AmqpBroker(BROKER_URL, { logger });
    await b.connect();
    const q = unique('badex');
    try {
      await b.declareQueue(q, { durable: false });
      const got: Delivery[] = [];
      await b.consume(q, { prefetch: 10 }, (d) => void got.push(d));
      await b.publish('', q, msg('one'));
      await until('first delivery', () => got.length === 1);
      const [bad, good] = await Promise.allSettled([b.publish(unique('no-such-exchange'), 'k', msg('lost')), b.publish('', q, msg('two'))]);
      assert.equal(bad.status, 'rejected');
      assert.ok(
        bad.status === 'rejected' && bad.reason instanceof BrokerError && /NOT_FOUND/.test(String(bad.reason.message)),
        String(bad.status === 'rejected' && bad.reason),
      );
      assert.equal(good.status, 'fulfilled', 'a publish sent alongside on the same channel is resent, not rejected');
      await b.publish('', q, msg('three'));
      await until('later deliveries', () => got.length === 3);
      for (const d of got) d.ack(); // deliveries from before the publish error are still valid
      await sleep(100);
      await b.close();
      const b2 = makeBroker();
      await b2.connect();
      assert.equal(await b2.queueSize(q), 0, 'all three acks reached the server');
      await b2.deleteQueue(q);
      await b2.close();
    } finally {
      await b.close();
    }
  });

  it("a consumer whose channel the server closes resubscribes alone, without 'disconnected'", async () => {
    // Reach the consumer's amqplib channel by wrapping Channel#consume (the test's only way in:
    // the adapter keeps channels private), then make the server close it by acking a tag it
    // never sent: PRECONDITION_FAILED, a channel-level error like a consumer timeout.
    const channels: Channel[] = [];
    const proto = amqplibChannelPrototype();
    const original = proto.consume;
    proto.consume = function (this: Channel, ...args: Parameters<Channel['consume']>) {
      channels.push(this);
      return original.apply(this, args);
    };
    const logger = recordingLogger();
    const b = new AmqpBroker(BROKER_URL, { logger });
    const events: string[] = [];
    const errors: Error[] = [];
    b.on('disconnected', () => void events.push('disconnected'));
    b.on('error', (e) => void errors.push(e));
    await b.connect();
    const q = unique('chanloss');
    try {
      await b.declareQueue(q, { durable: false });
      const got: Delivery[] = [];
      await b.consume(q, { prefetch: 10 }, (d) => {
        got.push(d);
        if (d.redelivered || d.body.toString() !== 'held') d.ack();
      });
      proto.consume = original;
      assert.equal(channels.length, 1);
      await b.publish('', q, msg('held'));
      await until('held delivery', () => got.length === 1);
      channels[0]!.ack({ fields: { deliveryTag: 999_999 } } as unknown as Message);
      await until('resubscribed', () => logger.lines.some((l) => l.includes('resubscribing')));
      got[0]!.ack(); // from the dead channel: a no-op
      await until('held message redelivered', () => got.some((d) => d.redelivered && d.body.toString() === 'held'));
      await b.publish('', q, msg('after'));
      await until('new delivery', () => got.some((d) => d.body.toString() === 'after'));
      assert.deepEqual(events, [], 'only one channel died: no connection-level event');
      assert.deepEqual(errors, []);
      assert.ok(
        logger.lines.some((l) => l.includes('PRECONDITION_FAILED')),
        'the channel error was logged',
      );
    } finally {
      proto.consume = original;
      await b.deleteQueue(q).catch(() => {});
      await b.close();
    }
  });

  it('consuming from a missing queue rejects with BrokerError; the broker stays usable', async () => {
    const b = makeBroker();
    await b.connect();
    const q = unique('present');
    try {
      await assert.rejects(
        b.consume(unique('missing'), { prefetch: 1 }, () => {}),
        (e: Error) => e instanceof BrokerError && /NOT_FOUND/.test(e.message),
      );
      await b.declareQueue(q, { durable: false });
      const got: string[] = [];
      await b.consume(q, { prefetch: 1 }, (d) => {
        got.push(d.body.toString());
        d.ack();
      });
      await b.publish('', q, msg('ok'));
      await until('delivery', () => got.length === 1);
    } finally {
      await b.deleteQueue(q);
      await b.close();
    }
  });

  it('proposes the configured heartbeat to the server', async () => {
    const name = unique('hb');
    const b = new AmqpBroker(BROKER_URL, { logger: recordingLogger(), connectionName: name, heartbeatSeconds: 7 });
    await b.connect();
    try {
      const { stdout } = await run('rabbitmqctl', ['list_connections', 'timeout', 'client_properties', '-q']);
      const line = stdout.split('\n').find((l) => l.includes(`{"connection_name","${name}"}`));
      assert.equal(line?.split('\t')[0], '7', `heartbeat seen by the server: ${line}`);
    } finally {
      await b.close();
    }
  });

  it('operations after close() reject with BrokerError and nothing reconnects', async () => {
    const name = unique('closed');
    const b = new AmqpBroker(BROKER_URL, { logger: recordingLogger(), connectionName: name });
    const events: string[] = [];
    b.on('disconnected', () => void events.push('disconnected'));
    await b.connect();
    await b.close();
    await assert.rejects(b.publish('', 'q', msg('x')), BrokerError);
    await assert.rejects(b.declareQueue(unique('x')), BrokerError);
    await assert.rejects(b.connect(), BrokerError);
    await sleep(50);
    assert.deepEqual(events, []);
    assert.equal(await killConnections(name), 0, 'no connection left open');
  });
});

describe('amqp delay tiers', { concurrency: false, timeout: 20_000 }, () => {
  it('picks the longest tier not longer than the delay, at least the shortest', () => {
    const cases: Array<[number, number]> = [
      [1, 1000],
      [999, 1000],
      [1000, 1000],
      [1999, 1000],
      [2000, 2000],
      [5000, 4000],
      [3_600_000, 2_048_000],
    ];
    for (const [delay, tier] of cases) assert.equal(tierFor(delay), tier, `delay ${delay}`);
    const longest = TIER_DURATIONS_MS.at(-1)!;
    assert.equal(longest, 1000 * 2 ** 24);
    assert.equal(tierFor(longest * 3), longest, 'past the longest tier: the longest');
  });

  it('parks a delayed message in its tier; a deleted tier fails the next publish loudly, then is declared again, also after a reconnect', async () => {
    const prefix = unique('tiers');
    const name = unique('tiers-conn');
    const b = makeBroker({ delayTierPrefix: prefix, connectionName: name });
    const events: string[] = [];
    b.on('reconnected', () => void events.push('reconnected'));
    const other = makeBroker();
    await b.connect();
    await other.connect();
    const q = unique('tiers-target');
    const tier = tierName(prefix, 4000);
    try {
      await b.declareQueue(q, { durable: false });
      await b.publish('', q, msg('parked'), { delayMs: 5000 });
      assert.equal(await b.queueSize(tier), 1, 'a 5 s delay waits in the 4 s tier');
      assert.equal(await b.queueSize(q), 0, 'not in its queue yet');

      await other.deleteQueue(tier); // its auto-delete exchange goes with it
      await assert.rejects(b.publish('', q, msg('lost'), { delayMs: 5000 }), BrokerError, 'a publish to a deleted tier is refused, not dropped');
      await b.publish('', q, msg('again'), { delayMs: 5000 });
      assert.equal(await b.queueSize(tier), 1, 'the tier was declared again');

      await other.deleteQueue(tier);
      assert.ok((await killConnections(name)) >= 1, 'killed our connection');
      await until("'reconnected'", () => events.includes('reconnected'));
      assert.equal(await other.queueSize(tier), 0, 'the tier is declared again after a reconnect');
    } finally {
      for (const ms of TIER_DURATIONS_MS) await other.deleteQueue(tierName(prefix, ms));
      await other.deleteQueue(q);
      await b.close();
      await other.close();
    }
  });
});
