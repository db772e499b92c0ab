/**
 * Per-queue options on RabbitMQ, through the worker: quorum queues, max priority, and
 * dead-lettering of rejected messages.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import amqp from 'amqplib';
import { createBroker } from 'celeryts';
import { eventually, startInProcess } from '../support/harness.js';

const AMQP = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

describe('queue options on RabbitMQ', () => {
  it('declares the rpc reply queue with the configured rpcReplyQueueExpires (x-expires), not the default hour', async () => {
    const w = await startInProcess({ brokerUrl: AMQP, config: { rpcReplyQueueExpires: 7 } });
    const conn = await amqp.connect(AMQP);
    try {
      assert.equal(await (await w.client.sendTask('app.jobs.add', [1, 2])).get({ timeout: 10 }), 3);
      const backend = (await w.client.backend()) as { oid?: string };
      assert.ok(backend.oid, 'the rpc backend names its reply queue');
      // Redeclaring with other arguments fails with 406 PRECONDITION_FAILED: this only passes when x-expires is 7000.
      const ch = await conn.createChannel();
      await ch.assertQueue(backend.oid, { durable: true, expires: 7000 });
      await ch.close();
    } finally {
      await conn.close();
      await w.stop();
    }
  });

  it('runs tasks from a quorum queue', async () => {
    const queue = `t.quorum.${randomUUID().slice(0, 8)}`;
    const w = await startInProcess({ brokerUrl: AMQP, config: { defaultQueue: queue, queues: { [queue]: { queueType: 'quorum' } } } });
    try {
      assert.equal(await (await w.client.sendTask('app.jobs.add', [20, 22])).get({ timeout: 10 }), 42);
    } finally {
      await w.stop();
      const b = await createBroker(AMQP);
      await b.connect();
      await b.deleteQueue(queue);
      await b.close();
    }
  });

  it('dead-letters rejected messages when the queue has a dead-letter exchange, and counts them', async () => {
    const id = randomUUID().slice(0, 8);
    const queue = `t.dlx.${id}`;
    const dlx = `t.dlx.${id}.dead`;
    const admin = await createBroker(AMQP);
    await admin.connect();
    await admin.declareExchange(dlx, 'fanout', { durable: false, autoDelete: true });
    await admin.declareQueue(dlx, { durable: false, autoDelete: false });
    await admin.bindQueue(dlx, dlx, '');
    const w = await startInProcess({ brokerUrl: AMQP, config: { defaultQueue: queue, queues: { [queue]: { deadLetterExchange: dlx, maxPriority: 10 } } } });
    try {
      const broker = await w.client.broker();
      await broker.publish('', queue, {
        headers: { task: 'app.jobs.add', id: randomUUID() },
        properties: { contentType: 'application/json' },
        body: Buffer.from('not json'),
      });
      await broker.publish('', queue, {
        headers: { task: 'app.jobs.nope', id: randomUUID() },
        properties: { contentType: 'application/json' },
        body: Buffer.from('[[],{},{}]'),
      });
      assert.equal(await (await w.client.sendTask('app.jobs.add', [1, 2], {}, { priority: 9 })).get({ timeout: 10 }), 3, 'a good task still runs');
      await eventually(async () => (await admin.queueSize(dlx)) === 2, 5000, 'two dead-lettered messages');
      const control = await w.client.control();
      const stats = (await control.broadcast('stats', {}, { destination: [w.worker.nodeName], timeout: 3 }))[w.worker.nodeName] as {
        rejected: Record<string, number>;
      };
      assert.deepEqual(stats.rejected, { malformed: 1, not_registered: 1 });
    } finally {
      await w.stop();
      await admin.deleteQueue(queue);
      await admin.deleteQueue(dlx);
      await admin.close();
    }
  });
});
