/**
 * Headers Python can read (issue 12.1): py-amqp, the AMQP client under kombu, Celery and Flower,
 * decodes every integer header celeryts publishes on RabbitMQ, whatever its size. amqplib's own
 * guess typed 128..32767 as a 16-bit `s`, which py-amqp reads as a short string: a celeryts
 * worker's 128th control reply broke every Python monitor on the vhost.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApp, type App } from 'celeryts';
import { spawnWorker, type WorkerProcess } from '../support/harness.js';
import { python, spawnPythonWorker, type PythonWorker } from '../support/interop-suite.js';

const BROKER = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672//';
const run = randomUUID().slice(0, 8);
/** Integers at every boundary of the AMQP integer types, 0..2^31 and a little past. */
const VALUES = [0, 1, 127, 128, 255, 256, 300, 32767, 32768, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 40];

/** Headers of `n` messages on `queue`, as py-amqp decodes them. */
function pythonHeaders(queue: string, n: number): Record<string, unknown>[] {
  const r = python(BROKER, ['amqp_headers.py', queue, String(n), '15']);
  assert.equal(r.status, 0, `py-amqp could not read the messages:\n${r.stderr}\n${r.stdout}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('py-amqp reads the integer headers celeryts publishes (RabbitMQ)', () => {
  let app: App;
  before(async () => {
    app = await createApp({ brokerUrl: BROKER, logLevel: 'silent', setAsCurrent: false });
  });
  after(async () => {
    await app.close();
  });

  it('task messages: timelimit, retries and group_index at every integer size', async () => {
    const queue = `headers.tasks.${run}`;
    const broker = await app.broker();
    await broker.declareQueue(queue, {});
    try {
      for (const v of VALUES) {
        await app.sendTask('proj.tasks.add', [v, v], {}, { queue, timeLimit: v, softTimeLimit: v + 1, retries: v, groupIndex: v, group: 'g' });
      }
      const got = pythonHeaders(queue, VALUES.length);
      assert.deepEqual(
        got.map((h) => [h['timelimit'], h['retries'], h['group_index']]),
        VALUES.map((v) => [[v, v + 1], v, v]),
      );
    } finally {
      await broker.deleteQueue(queue).catch(() => undefined);
    }
  });

  it('any header table: negative numbers, floats, lists and nested tables keep their values', async () => {
    const queue = `headers.any.${run}`;
    const broker = await app.broker();
    await broker.declareQueue(queue, {});
    try {
      const headers = {
        small: -1,
        mid: -300,
        big: -(2 ** 31),
        huge: -(2 ** 40),
        float: 1.5,
        list: [128, -129, 40000, [300]],
        nested: { clock: 300, deeper: { n: 70000 } },
        flag: true,
        none: null,
        text: 'x',
      };
      await broker.publish('', queue, { body: Buffer.from('{}'), headers, properties: { contentType: 'application/json' } });
      assert.deepEqual(pythonHeaders(queue, 1), [headers]);
    } finally {
      await broker.deleteQueue(queue).catch(() => undefined);
    }
  });
});

describe('300 control round trips between Python and celeryts (RabbitMQ)', () => {
  const env = { CELERYTS_BROKER_URL: BROKER, BROKER_URL: BROKER };
  const tsNode = `ts-headers-${run}@interop`;
  const pyNode = `py-headers-${run}@interop`;
  let worker: WorkerProcess;
  let py: PythonWorker;
  before(async () => {
    [worker, py] = await Promise.all([spawnWorker(['-Q', `headers.ts.${run}`, '-n', tsNode], { env }), spawnPythonWorker(BROKER, pyNode, `headers.py.${run}`)]);
  });
  after(async () => {
    worker.child.kill('SIGTERM');
    await Promise.all([worker.exited, py.stop()]);
  });

  it('a celeryts worker answers 300 consecutive Python pings (reply header clock passes 127)', () => {
    const r = python(BROKER, ['ping_loop.py', tsNode, '300']);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()!), { answered: 300, error: null });
  });

  it('a Python worker answers 300 consecutive celeryts pings (request header clock passes 127)', async () => {
    const client = await createApp({ brokerUrl: BROKER, logLevel: 'silent', setAsCurrent: false });
    try {
      const control = await client.control();
      let answered = 0;
      for (let i = 0; i < 300; i++) {
        const replies = await control.broadcast('ping', {}, { destination: [pyNode], timeout: 3 });
        if (!(pyNode in replies)) break; // a worker that could not read one request reads no more
        answered++;
      }
      assert.equal(answered, 300, py.output().slice(-2000));
    } finally {
      await client.close();
    }
  });
});
