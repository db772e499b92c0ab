/**
 * Bad input on a queue with a dead-letter exchange, each message followed by a good task that
 * must still run: invalid JSON, a body of the wrong shape, missing headers, a protocol v1
 * message (runs), an unknown content type, pickle (never executed), a body over
 * maxMessageBytes, an unknown task, arguments that make the task throw (FAILURE, acked as Celery
 * does). Each rejected message is dead-lettered, logged once with its task id and counted by
 * reason in `inspect stats`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBroker, type App, type Broker } from 'celeryts';
import { badMessages, MAX_BYTES } from './bad-messages.js';
import { eventually } from '../support/harness.js';
import { client, endedIds, logLines, nodeOf, setup, startWorker, statsOf, terminate, type Setup } from './kit.js';
import { privateRabbit } from './private-rabbit.js';

describe('bad input, each followed by a good task (private RabbitMQ, dead-letter exchange)', () => {
  let s: Setup;
  let app: App;
  let admin: Broker;
  const dlx = `faults.dead.${randomUUID().slice(0, 8)}`;
  before(async () => {
    const rabbit = await privateRabbit();
    s = setup(rabbit, 'bad', { FAULTS_DLX: dlx, FAULTS_MAX_BYTES: String(MAX_BYTES) });
    admin = await createBroker(rabbit.url);
    await admin.connect();
    await admin.declareExchange(dlx, 'fanout', { durable: false });
    await admin.declareQueue(dlx, { durable: false });
    await admin.bindQueue(dlx, dlx, '');
    app = await client(s, { queues: { [s.queue]: { deadLetterExchange: dlx } } });
  });
  after(async () => {
    await app.close();
    await admin.deleteQueue(dlx);
    await admin.close();
  });

  it('rejects, dead-letters, logs once with the task id and counts each; runs v1; good tasks keep running', async () => {
    const pwned = path.join(tmpdir(), `celeryts-pwned-${randomUUID()}`);
    const w = await startWorker(s, ['-c', '2']);
    const bad = badMessages(pwned);
    for (const [i, m] of bad.entries()) {
      await admin.publish('', s.queue, { headers: m.headers, properties: m.properties, body: m.body });
      const good = `good-${i}-${randomUUID().slice(0, 8)}`;
      await app.sendTask('faults.record', [good], {}, { ignoreResult: true, taskId: good });
      await eventually(() => endedIds(s.record).has(good), 10_000, `good task after ${m.what}`);
    }
    assert.ok(endedIds(s.record).has(bad.find((m) => m.expect === 'runs')!.id), 'the protocol v1 message ran');
    assert.ok(!existsSync(pwned), 'pickle was never executed');

    const rejected = bad.filter((m) => !['runs', 'fails'].includes(m.expect));
    await eventually(async () => (await admin.queueSize(dlx)) === rejected.length, 5000, 'dead-lettered messages');
    const stats = await statsOf(app, nodeOf(w));
    const expected: Record<string, number> = {};
    for (const m of rejected) expected[m.expect] = (expected[m.expect] ?? 0) + 1;
    assert.deepEqual(stats['rejected'], expected);
    assert.equal(stats['total']['faults.strict'], 1, 'the throwing task ran and failed');

    const lines = logLines(w.output());
    for (const m of bad) {
      const errors = lines.filter((l) => l['taskId'] === m.id && Number(l['level']) >= 50);
      assert.equal(
        errors.length,
        m.expect === 'runs' ? 0 : 1,
        `${m.what}: ${errors.length} error lines with its task id:\n${errors.map((l) => l['msg']).join('\n')}`,
      );
    }
    assert.equal(await terminate(w), 0);
    console.log(
      `bad input: ${rejected.length} rejected and dead-lettered, counted ${JSON.stringify(stats['rejected'])}; v1 ran; throwing task FAILED; ${bad.length} good tasks ran`,
    );
  });
});
