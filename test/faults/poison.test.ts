/**
 * A poison task (acks late) that SIGKILLs its worker on every delivery: after maxRedeliveries
 * counted deaths (start marks: the first, unmarked run is not seen) the next worker dead-letters
 * it instead of running it, to the queue's own dead-letter exchange when it has one, logs it
 * loudly with its task id, counts it in `inspect stats`, and goes on running good tasks. The
 * workers keep one node name, as under a supervisor: start marks live per node.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createBroker, type App, type Broker, type Delivery } from 'celeryts';
import { eventually } from '../support/harness.js';
import { client, endedIds, gone, logLines, nodeOf, runs, setup, spawnWorkerNoWait, statsOf, terminate, type Setup } from './kit.js';
import { privateRabbit } from './private-rabbit.js';

const MAX_REDELIVERIES = 3;

describe('a poison task that kills its worker on every delivery (private RabbitMQ)', () => {
  let s: Setup;
  let app: App;
  let admin: Broker;
  const dlx = `faults.dead.${randomUUID().slice(0, 8)}`;
  const dead: Delivery[] = [];
  before(async () => {
    const rabbit = await privateRabbit();
    s = setup(rabbit, 'poison', { FAULTS_DLX: dlx, FAULTS_MAX_REDELIVERIES: String(MAX_REDELIVERIES) });
    admin = await createBroker(rabbit.url);
    await admin.connect();
    await admin.declareExchange(dlx, 'fanout', { durable: false });
    await admin.declareQueue(dlx, { durable: false, autoDelete: true });
    await admin.bindQueue(dlx, dlx, '');
    await admin.consume(dlx, { prefetch: 10 }, (d) => {
      dead.push(d);
      d.ack();
    });
    app = await client(s, { queues: { [s.queue]: { deadLetterExchange: dlx } } });
  });
  after(async () => {
    await app.close();
    await admin.close();
  });

  it(`is dead-lettered after ${MAX_REDELIVERIES} redeliveries, so it cannot loop forever`, async () => {
    const id = `poison-${randomUUID().slice(0, 8)}`;
    await app.sendTask('faults.poison', [id], {}, { ignoreResult: true, taskId: id });
    const killed: number[] = [];
    const node = `poison-${randomUUID().slice(0, 8)}@%h`;
    for (;;) {
      assert.ok(killed.length <= MAX_REDELIVERIES + 2, `the poison task killed ${killed.length} workers`);
      const w = await spawnWorkerNoWait(s, ['-n', node]);
      await eventually(
        () => w.child.exitCode !== null || w.child.signalCode !== null || dead.length > 0,
        30_000,
        'the poison task to kill the worker or be dead-lettered',
      );
      if (dead.length === 0) {
        await gone(w);
        killed.push(w.child.pid!);
        continue;
      }
      // This worker dead-lettered it: it is alive, runs good tasks, and says what it did.
      await eventually(() => / ready\./.test(w.output()) || w.child.exitCode !== null, 10_000, 'ready');
      assert.equal(w.child.exitCode, null, `the worker that dead-lettered the poison task is alive:\n${w.output().slice(-2000)}`);
      const good = `good-${randomUUID().slice(0, 8)}`;
      await app.sendTask('faults.record', [good], {}, { ignoreResult: true, taskId: good });
      await eventually(() => endedIds(s.record).has(good), 10_000, 'a good task after the poison one');
      const loud = logLines(w.output()).filter((l) => l['taskId'] === id && Number(l['level']) >= 50);
      assert.equal(loud.length, 1, 'one error line with the task id');
      assert.match(String(loud[0]!['msg']), /started and lost its worker 4 times, over maxRedeliveries \(3\).*dead-letter exchange/);
      const stats = await statsOf(app, nodeOf(w));
      assert.deepEqual(stats['rejected'], { redelivery_limit: 1 });
      assert.equal(await terminate(w), 0);
      break;
    }
    const poisonRuns = runs(s.record).filter((r) => r.id === id && r.event === 'start');
    assert.equal(killed.length, MAX_REDELIVERIES + 2, 'ran once unmarked, once marked, then once per allowed counted death');
    assert.equal(poisonRuns.length, MAX_REDELIVERIES + 2);
    assert.deepEqual(
      poisonRuns.map((r) => r.redelivered),
      [false, ...Array(MAX_REDELIVERIES + 1).fill(true)],
      'every rerun is flagged redelivered',
    );
    assert.equal(dead.length, 1);
    assert.equal(dead[0]!.headers['id'], id);
    assert.equal(dead[0]!.headers['x-celeryts-redeliveries'], MAX_REDELIVERIES);
    console.log(
      `poison task: killed ${killed.length} workers (2 + maxRedeliveries ${MAX_REDELIVERIES}), then dead-lettered by the next one with x-celeryts-redeliveries=${MAX_REDELIVERIES}`,
    );
  });
});
