/**
 * The fault suite on Redis, on a private redis-server (private-redis.ts):
 * - workers SIGKILLed three times over 1,000 acks-late tasks: none missing, and every run of a
 *   task a killed worker had taken is flagged redelivered (restored after the visibility timeout);
 * - Redis restarted mid-run (SHUTDOWN, 3 s down): worker and client are back within 5 s of its
 *   return, and every task whose publish Redis confirmed runs;
 * - bad input, as on RabbitMQ (bad-messages.ts), plus what only a Redis list can hold: text
 *   that is no JSON and a JSON value that is no kombu envelope.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBroker, type App, type Broker } from 'celeryts';
import { Redis } from 'ioredis';
import { eventually } from '../support/harness.js';
import { badMessages, MAX_BYTES } from './bad-messages.js';
import { client, endedIds, idsLogged, kill, logLines, nodeOf, runs, sendRecords, setup, startWorker, statsOf, terminate, untilEnded } from './kit.js';
import { privateRedis, type PrivateRedis } from './private-redis.js';

const VT = '2'; // visibility timeout (s): a killed worker's messages come back after it

let redis: PrivateRedis;
before(async () => {
  redis = await privateRedis();
});
after(() => redis.stop());

describe('Redis: workers SIGKILLed three times over 1,000 acks-late tasks', () => {
  it('runs every task; runs of tasks a killed worker had taken are flagged redelivered', { timeout: 180_000 }, async () => {
    const s = setup(undefined, 'rkill', { FAULTS_VISIBILITY_TIMEOUT: VT }, redis.url);
    const app = await client(s);
    try {
      const ids = Array.from({ length: 1000 }, (_, i) => `${i}-${randomUUID().slice(0, 8)}`);
      await sendRecords(app, ids, 15);
      const killed: { pid: number; output: string }[] = [];
      for (const at of [150, 400, 650]) {
        const w = await startWorker(s, ['--acks-late']);
        await untilEnded(s.record, at);
        await kill(w);
        killed.push({ pid: w.child.pid!, output: w.output() });
      }
      const last = await startWorker(s, ['--acks-late']);
      await eventually(() => ids.every((id) => endedIds(s.record).has(id)), 90_000, 'every task to end');
      assert.equal(await terminate(last), 0, last.output().slice(-2000));
      const order = new Map(killed.map((k, i) => [k.pid, i]));
      const receivedBy = killed.map((k) => idsLogged(k.output, /^Task faults\.record\[.*\] received$/));
      let flagged = 0;
      for (const r of runs(s.record)) {
        if (r.event !== 'start') continue;
        const takenBefore = receivedBy.slice(0, order.get(r.pid) ?? killed.length).some((set) => set.has(r.id));
        if (takenBefore) assert.ok(r.redelivered, `run of ${r.id} after a killed worker took it is not flagged redelivered`);
        if (r.redelivered) flagged++;
      }
      assert.ok(flagged > 0, 'some runs were redeliveries');
      console.log(`redis kill x3: 1000/1000 ran, ${flagged} redelivered runs`);
    } finally {
      await app.close();
    }
  });
});

describe('Redis restarted mid-run', () => {
  it('worker and client are back within 5 s of its return; every confirmed publish runs', { timeout: 120_000 }, async () => {
    const s = setup(undefined, 'rrestart', { FAULTS_VISIBILITY_TIMEOUT: VT }, redis.url);
    const w = await startWorker(s, ['--acks-late']);
    const app = await client(s);
    try {
      const confirmed: string[] = [];
      let sending = true;
      const sender = (async () => {
        for (let i = 0; sending; i++) {
          const id = `r${i}-${randomUUID().slice(0, 8)}`;
          try {
            await app.sendTask('faults.record', [id, 5], {}, { ignoreResult: true, taskId: id });
            confirmed.push(id);
          } catch {
            // Redis was down: not confirmed, not expected to run
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      await untilEnded(s.record, 50);
      await redis.restart(3000);
      const back = Date.now();
      // The worker: a task sent after the return runs within 5 s.
      const probe = `probe-${randomUUID().slice(0, 8)}`;
      await app.sendTask('faults.record', [probe], {}, { ignoreResult: true, taskId: probe });
      await eventually(() => endedIds(s.record).has(probe), 5000, 'a task sent after the restart to run');
      // The client: a round trip with its result within 5 s of the return.
      assert.equal(await (await app.sendTask('faults.echo', [1, 2, 3])).get({ timeout: 5 }), 3);
      const took = Date.now() - back;
      sending = false;
      await sender;
      await eventually(() => confirmed.every((id) => endedIds(s.record).has(id)), 30_000, 'every confirmed task to run');
      assert.equal(await terminate(w), 0, w.output().slice(-2000));
      console.log(`redis restart: worker and client back ${took} ms after Redis returned; ${confirmed.length} confirmed publishes all ran`);
      assert.ok(took < 5000, `back after ${took} ms`);
    } finally {
      await app.close();
    }
  });
});

describe('Redis: bad input, each followed by a good task (dead-letter exchange)', () => {
  let app: App;
  let admin: Broker;
  const dlx = `faults.dead.${randomUUID().slice(0, 8)}`;
  const s0 = () => setup(undefined, 'rbad', { FAULTS_DLX: dlx, FAULTS_MAX_BYTES: String(MAX_BYTES) }, redis.url);
  let s: ReturnType<typeof s0>;
  before(async () => {
    s = s0();
    admin = await createBroker(redis.url);
    await admin.connect();
    await admin.declareExchange(dlx, 'direct', { durable: false });
    await admin.declareQueue(dlx, { durable: false });
    await admin.bindQueue(dlx, dlx, s.queue); // dead-lettered with their routing key, the queue's name
    app = await client(s, { queues: { [s.queue]: { deadLetterExchange: dlx } } });
  });
  after(async () => {
    await app.close();
    await admin.deleteQueue(dlx);
    await admin.close();
  });

  it('rejects, dead-letters, logs once and counts each; runs v1; raw list garbage is rejected too; good tasks keep running', async () => {
    const pwned = path.join(tmpdir(), `celeryts-pwned-${randomUUID()}`);
    const w = await startWorker(s, ['-c', '2']);
    const bad = badMessages(pwned);
    const raw = new Redis(redis.url);
    const sendGood = async (label: string) => {
      const good = `good-${label}-${randomUUID().slice(0, 8)}`;
      await app.sendTask('faults.record', [good], {}, { ignoreResult: true, taskId: good });
      await eventually(() => endedIds(s.record).has(good), 10_000, `good task after ${label}`);
    };
    try {
      for (const m of bad) {
        await admin.publish('', s.queue, { headers: m.headers, properties: m.properties, body: m.body });
        await sendGood(m.what);
      }
      for (const [what, text] of [
        ['not-json', 'this is not JSON {'],
        ['not-an-envelope', '[1, 2, 3]'],
      ] as const) {
        await raw.lpush(s.queue, text);
        await sendGood(what);
      }
    } finally {
      raw.disconnect();
    }
    assert.ok(endedIds(s.record).has(bad.find((m) => m.expect === 'runs')!.id), 'the protocol v1 message ran');
    assert.ok(!existsSync(pwned), 'pickle was never executed');
    const rejected = bad.filter((m) => !['runs', 'fails'].includes(m.expect));
    await eventually(async () => (await admin.queueSize(dlx)) === rejected.length + 2, 5000, 'dead-lettered messages');
    const stats = await statsOf(app, nodeOf(w));
    const expected: Record<string, number> = {};
    for (const m of rejected) expected[m.expect] = (expected[m.expect] ?? 0) + 1;
    expected['malformed'] = (expected['malformed'] ?? 0) + 2;
    assert.deepEqual(stats['rejected'], expected);
    const lines = logLines(w.output());
    for (const m of bad) {
      const errors = lines.filter((l) => l['taskId'] === m.id && Number(l['level']) >= 50);
      assert.equal(errors.length, m.expect === 'runs' ? 0 : 1, `${m.what}: ${errors.length} error lines with its task id`);
    }
    assert.equal(await terminate(w), 0);
  });
});
