import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load-config.js';
import { createBroker } from '../../src/transport/create-broker.js';
import { NodeCycle } from '../../src/transport/amqp/failover.js';
import { maskUrl, redactPassword, splitUrlList } from '../../src/util/mask-url.js';
import { makeProject } from '../support/project.js';

const walk = (cycle: NodeCycle, n: number): number[] => [cycle.current, ...Array.from({ length: n - 1 }, () => cycle.next())];

describe('broker URL lists (RabbitMQ cluster nodes)', () => {
  it("splits Celery's 'url;url' form, and never inside a password holding an unencoded ';'", () => {
    assert.deepEqual(splitUrlList('amqp://a:x@h1//;amqp://b:y@h2//; amqp://h3//'), ['amqp://a:x@h1//', 'amqp://b:y@h2//', 'amqp://h3//']);
    assert.deepEqual(splitUrlList('amqp://u:se;cret@h1//'), ['amqp://u:se;cret@h1//']);
    assert.equal(maskUrl('amqp://u:se;cret@h1//'), 'amqp://u:****@h1//');
  });

  it('masks and redacts every password of a list', () => {
    const list = 'amqp://a:S3cret@h1:5672//;amqp://b:Other@h2:5672//';
    assert.equal(maskUrl(list), 'amqp://a:****@h1:5672//;amqp://b:****@h2:5672//');
    assert.equal(redactPassword('S3cret and Other', list), '**** and ****');
  });

  it('round-robin walks the nodes in order; shuffle visits every node each pass and never retries the one that just failed first', () => {
    assert.deepEqual(walk(new NodeCycle(3, 'round-robin'), 7), [0, 1, 2, 0, 1, 2, 0]);
    let seed = 7;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const cycle = new NodeCycle(3, 'shuffle', random);
    const seen = walk(cycle, 30);
    for (let pass = 0; pass < 10; pass++) assert.deepEqual([...seen.slice(pass * 3, pass * 3 + 3)].sort(), [0, 1, 2], `pass ${pass}: ${seen}`);
    for (let i = 1; i < seen.length; i++) assert.notEqual(seen[i], seen[i - 1], `node ${seen[i]} tried twice in a row`);
  });

  it('takes a list as an array or as one string in the config and the environment; refuses a list of non-RabbitMQ URLs', async () => {
    const dir = makeProject({
      'celeryts.config.json': JSON.stringify({ brokerUrl: ['amqp://a:x@h1//', 'amqp://h2//'], brokerFailoverStrategy: 'shuffle' }),
    });
    const config = await loadConfig({ cwd: dir, env: {} });
    assert.equal(config.brokerUrl, 'amqp://a:x@h1//;amqp://h2//');
    assert.equal(config.brokerFailoverStrategy, 'shuffle');
    const fromEnv = await loadConfig({ cwd: dir, env: { CELERYTS_BROKER_URL: 'amqp://h3//;amqp://h4//' } });
    assert.equal(fromEnv.brokerUrl, 'amqp://h3//;amqp://h4//');
    await assert.rejects(loadConfig({ cwd: dir, env: { CELERYTS_BROKER_URL: 'redis://h1;redis://h2' } }), /only for RabbitMQ/);
    await assert.rejects(
      loadConfig({ cwd: dir, env: {}, overrides: { brokerFailoverStrategy: 'random' as 'shuffle' } }),
      /'brokerFailoverStrategy' must be one of/,
    );
    await assert.rejects(
      createBroker('amqp://h1//;ampq://u:S3cret@h2//'),
      (err: Error) => /amqp:\/\/ or amqps:\/\//.test(err.message) && !err.message.includes('S3cret'),
    );
  });
});
