/** CLI behaviour that depends on the broker, checked on RabbitMQ (the file tier checks the embedded broker). */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { createBroker } from 'celeryts';
import { cli } from '../support/harness.js';

const AMQP = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';

it('purge -Q of a queue that does not exist leaves RabbitMQ without it; an existing one is purged', async () => {
  const missing = `purge.missing.${randomUUID().slice(0, 8)}`;
  const present = `purge.present.${randomUUID().slice(0, 8)}`;
  const env = { CELERYTS_BROKER_URL: AMQP };
  assert.equal(cli(['call', 'proj.tasks.add', '1', '2', '-Q', present], { env }).status, 0);
  const broker = await createBroker(AMQP);
  await broker.connect();
  try {
    const r = cli(['purge', '-f', '-Q', `${missing},${present}`], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Purged 1 message from 1 known task queue.\n');
    assert.match(r.stderr, new RegExp(`queue '${missing.replace(/\./g, '\\.')}' does not exist`));
    assert.equal(await broker.queueSize(missing), undefined, 'not created');
    assert.equal(await broker.queueSize(present), 0);
  } finally {
    await broker.deleteQueue(present).catch(() => undefined);
    await broker.close();
  }
});
