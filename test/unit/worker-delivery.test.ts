/**
 * The worker's delivery decisions (src/worker/worker.ts), through the Broker port with a fake
 * broker: which deliveries run, which are refused and how, what the caller is told, what waits
 * for its eta and what goes back to the broker. No broker, no build.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { App } from '../../src/app.js';
import { resolveConfig } from '../../src/config/load-config.js';
import type { UserConfig } from '../../src/config/schema.js';
import type { OutgoingMessage } from '../../src/core/broker.js';
import { decodeResult } from '../../src/core/wire/result.js';
import { encodeTask, type TaskSendSpec } from '../../src/core/wire/task.js';
import { task, type Task } from '../../src/core/task.js';
import { REDELIVERIES_HEADER } from '../../src/worker/redelivery-guard.js';
import { Worker } from '../../src/worker/worker.js';
import { FakeBroker, type FakeDelivery } from '../support/fake-broker.js';
import { tempDir } from '../support/helpers.js';
import { LogCapture } from '../support/log-capture.js';

const tick = () => new Promise((r) => setImmediate(r));

/** Calls the tasks made: their names in order. */
const calls: string[] = [];
const TASKS: Task<any, any>[] = [
  task({ name: 'unit.add' }, (x: number, y: number) => {
    calls.push(`add ${x} ${y}`);
    return x + y;
  }),
  task({ name: 'unit.late', acksLate: true }, (label: string) => {
    calls.push(`late ${label}`);
    return label;
  }),
];
let hold: Promise<void> = Promise.resolve();
TASKS.push(
  task({ name: 'unit.blocker' }, async () => {
    calls.push('blocker');
    await hold;
  }),
);

async function startWorker(config: UserConfig = {}) {
  const broker = new FakeBroker();
  const logs = new LogCapture();
  const app = new App(resolveConfig({ concurrency: 1, prefetchMultiplier: 4, ...config }, tempDir('unit-worker-')), { broker, logger: logs.logger() });
  for (const t of TASKS) app.registry.register(t);
  const worker = new Worker(app, { nodeName: 'unit@test' });
  await worker.start();
  return { broker, logs, worker };
}

let n = 0;
/** A task message as a client sends it, replying to `reply.q`. */
function message(spec: Partial<TaskSendSpec> & { task: string }): OutgoingMessage & { id: string } {
  const id = spec.id ?? `t-${++n}`;
  return { id, ...encodeTask({ id, replyTo: 'reply.q', ...spec }) };
}

describe('worker delivery decisions', () => {
  let w: Awaited<ReturnType<typeof startWorker>>;
  before(async () => {
    w = await startWorker({ maxMessageBytes: 2000, maxRedeliveries: 2 });
  });
  after(async () => {
    await w.worker.stop();
    await w.worker.app.close();
  });

  /** The states the caller of `id` was sent, decoded. */
  const told = (id: string) =>
    w.broker
      .to('reply.q')
      .map((p) => decodeResult(p.message.body))
      .filter((r) => r.task_id === id);

  it('runs a good task: early ack, then SUCCESS to the reply queue', () => {
    const m = message({ task: 'unit.add', args: [2, 3] });
    const d = w.broker.deliver('celery', m);
    assert.equal(d.acks, 1);
    assert.deepEqual(
      told(m.id).map((r) => [r.status, r.result]),
      [['SUCCESS', 5]],
    );
  });

  /** What went to the dead-letter queue for task id `id`. */
  const deadLettered = (id: string) => w.broker.to('celeryts.dlq').filter((p) => p.message.headers['id'] === id || p.message.properties.correlationId === id);

  it('an unknown task: moved to the dead-letter queue (then acked), never run, FAILURE NotRegistered with the closest names', async () => {
    const m = message({ task: 'unit.ad', args: [1] });
    const d = w.broker.deliver('celery', m);
    await tick();
    assert.deepEqual([d.acks, d.rejected], [1, undefined], 'acked once its dead-letter copy is in the broker');
    const [dead] = deadLettered(m.id);
    assert.equal(dead!.message.headers['x-celeryts-dlq-reason'], 'not_registered');
    assert.equal(dead!.message.headers['x-celeryts-dlq-queue'], 'celery');
    assert.deepEqual(dead!.message.body, m.body, 'the original body');
    const [failure] = told(m.id);
    assert.equal(failure!.status, 'FAILURE');
    assert.deepEqual(failure!.result, { exc_type: 'NotRegistered', exc_message: ['unit.ad'], exc_module: 'celery.exceptions' });
    assert.match(String(failure!.traceback), /did you mean 'unit\.add'/);
    assert.equal(w.worker.stats.rejected['not_registered'], 1);
    assert.ok(w.logs.find(/Task of kind 'unit\.ad' is not registered/));
  });

  it('malformed, pickled and oversized messages: dead-lettered, counted by reason, caller told', async () => {
    const good = message({ task: 'unit.add', args: [1, 1] });
    const badJson = w.broker.deliver('celery', { ...good, body: Buffer.from('{not json') });
    const pickle = w.broker.deliver('celery', { ...good, properties: { ...good.properties, contentType: 'application/x-python-serialize' } });
    const big = message({ task: 'unit.add', args: ['x'.repeat(3000), 1] });
    const tooLarge = w.broker.deliver('celery', big);
    await tick();
    for (const d of [badJson, pickle, tooLarge]) assert.deepEqual([d.acks, d.rejected], [1, undefined]);
    assert.deepEqual(
      w.broker
        .to('celeryts.dlq')
        .slice(-3)
        .map((p) => p.message.headers['x-celeryts-dlq-reason']),
      ['malformed', 'content_type', 'too_large'],
    );
    assert.deepEqual([w.worker.stats.rejected['malformed'], w.worker.stats.rejected['content_type'], w.worker.stats.rejected['too_large']], [1, 1, 1]);
    assert.ok(!calls.includes('add 1 1'), 'none of them ran');
    assert.deepEqual(
      told(big.id).map((r) => r.status),
      ['FAILURE'],
    );
  });

  it('a revoked or expired task is acked, never run, and its caller sees REVOKED', () => {
    const revoked = message({ task: 'unit.add', args: [7, 7] });
    w.worker.revoked.add(revoked.id);
    const expired = message({ task: 'unit.add', args: [8, 8], expires: new Date(Date.now() - 1000).toISOString() });
    for (const m of [revoked, expired]) {
      const d = w.broker.deliver('celery', m);
      assert.equal(d.acks, 1);
      assert.deepEqual(
        told(m.id).map((r) => r.status),
        ['REVOKED'],
      );
    }
    assert.ok(!calls.some((c) => c === 'add 7 7' || c === 'add 8 8'));
  });

  it('eta within 2 s waits in worker memory, unacked, and runs at its time; a later eta goes back to the broker, delayed, and is acked', async () => {
    const soon = message({ task: 'unit.add', args: [20, 1], eta: new Date(Date.now() + 150).toISOString() });
    const d = w.broker.deliver('celery', soon);
    assert.equal(w.worker.eta.size, 1);
    assert.equal(d.settled, false);
    assert.ok(!calls.includes('add 20 1'));
    while (!calls.includes('add 20 1')) await new Promise((r) => setTimeout(r, 10));
    assert.equal(d.acks, 1);

    const later = message({ task: 'unit.add', args: [30, 1], eta: new Date(Date.now() + 60_000).toISOString() });
    const parked = w.broker.deliver('celery', later);
    await tick();
    const copy = w.broker.published.find((p) => p.message.headers['id'] === later.id)!;
    assert.equal(copy.routingKey, 'celery');
    assert.ok(copy.options!.delayMs! > 55_000 && copy.options!.delayMs! <= 60_000, `delayMs ${copy.options!.delayMs}`);
    assert.equal(parked.acks, 1, 'acked once the copy is in the broker');
    assert.equal(w.worker.eta.size, 0);
  });

  it('redelivery guard: a redelivery runs (start-marked) unless its task started under this node and died; past maxRedeliveries such a task is dead-lettered, not run', async () => {
    const marks = 'celeryts.started.unit@test';
    const first = message({ task: 'unit.late', args: ['fresh'] });
    const ran = w.broker.deliver('celery', first);
    await tick();
    assert.equal(ran.acks, 1, 'acked late, once its result is sent');
    assert.ok(calls.includes('late fresh'));
    assert.equal(w.broker.to(marks).length, 0, 'a first delivery is not marked');

    // Prefetched and given back (blip, warm shutdown): redelivered, a count of 2, no mark: it runs.
    const innocent = message({ task: 'unit.late', args: ['innocent'] });
    innocent.headers[REDELIVERIES_HEADER] = 2;
    const given = w.broker.deliver('celery', innocent, { redelivered: true });
    await tick();
    assert.ok(!calls.includes('late innocent'), 'first it waits a moment for a start mark that may lag behind it');
    for (const until = Date.now() + 2000; !calls.includes('late innocent') && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
    assert.ok(calls.includes('late innocent'), 'a redelivery without a start mark runs');
    assert.equal(given.acks, 1);
    const [mark] = w.broker.to(marks);
    assert.equal(JSON.parse(mark!.message.body.toString()).taskId, innocent.id, 'marked before it started');
    const back = w.broker.deliver(marks, mark!.message);
    assert.equal(back.acks, 1, 'its mark goes once it ended');

    // A mark left by a previous life of this node: that task started and its worker died.
    const poison = message({ task: 'unit.late', args: ['poison'] });
    poison.headers[REDELIVERIES_HEADER] = 2;
    w.broker.deliver(marks, { body: Buffer.from(JSON.stringify({ mark: 'old', taskId: poison.id })), headers: {}, properties: {} });
    const d = w.broker.deliver('celery', poison, { redelivered: true });
    await tick();
    assert.deepEqual([d.acks, d.rejected], [1, undefined]);
    assert.equal(deadLettered(poison.id)[0]!.message.headers['x-celeryts-dlq-reason'], 'redelivery_limit');
    assert.ok(!calls.includes('late poison'));
    assert.equal(w.worker.stats.rejected['redelivery_limit'], 1);
    assert.equal(told(poison.id)[0]!.status, 'FAILURE');
  });
});

describe('worker connection loss and shutdown', () => {
  it('reserved tasks are dropped (not run, not settled: the broker redelivers them) when the connection is lost', async () => {
    const w = await startWorker();
    let release!: () => void;
    hold = new Promise<void>((r) => (release = r));
    const blocker = w.broker.deliver('celery', message({ task: 'unit.blocker' }));
    const reserved: FakeDelivery[] = [1, 2].map((i) => w.broker.deliver('celery', message({ task: 'unit.add', args: [100, i] })));
    assert.equal(w.worker.pool.waitingCount, 2);
    w.broker.emit('disconnected', new Error('gone'));
    release();
    await w.worker.pool.onIdle();
    assert.equal(blocker.acks, 1);
    assert.ok(!calls.includes('add 100 1') && !calls.includes('add 100 2'), 'not run: they will come again');
    assert.ok(reserved.every((d) => !d.settled));
    await w.worker.stop();
  });

  it('warm shutdown gives reserved tasks back (requeue), finishes the running one, then refuses new deliveries', async () => {
    const w = await startWorker();
    let release!: () => void;
    hold = new Promise<void>((r) => (release = r));
    const handler = w.broker.handlers.get('celery')!;
    const running = w.broker.deliver('celery', message({ task: 'unit.blocker' }));
    const reserved = w.broker.deliver('celery', message({ task: 'unit.add', args: [200, 1] }));
    const stopping = w.worker.stop();
    await tick();
    assert.equal(reserved.rejected, true, 'requeued');
    const { FakeDelivery: Fake } = await import('../support/fake-broker.js');
    const m = message({ task: 'unit.add', args: [300, 1] });
    const late = new Fake(m.body, m.headers, m.properties, { routingKey: 'celery' });
    await handler(late); // a delivery already on its way when the consumer was cancelled
    assert.equal(late.rejected, true);
    release();
    await stopping;
    assert.equal(running.acks, 1);
    assert.ok(!calls.includes('add 200 1') && !calls.includes('add 300 1'));
  });
});
