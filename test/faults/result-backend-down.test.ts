/**
 * The Redis result backend down while tasks run (a private redis-server, SHUTDOWN for 6 s;
 * broker: the embedded file broker, so only the results are cut off):
 * - the worker keeps trying to store each result with backoff and logs the outage once (a task
 *   storing its result holds its concurrency slot meanwhile);
 * - acks late: a task whose result is not stored yet is not acked: a worker SIGKILLed during
 *   the outage leaves its tasks to the next worker, which runs them again and stores them;
 * - every result is readable by id once Redis is back;
 * - a client waiting (no timeout) through a Redis restart gets its result: it subscribes again
 *   and reads again after the reconnect.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { eventually, tempBrokerUrl } from '../support/harness.js';
import { client, kill, logLines, runs, setup, startWorker, terminate, untilEnded } from './kit.js';
import { privateRedis, type PrivateRedis } from './private-redis.js';

let redis: PrivateRedis;
before(async () => {
  redis = await privateRedis();
});
after(() => redis.stop());

describe('Redis result backend down while acks-late tasks run', () => {
  it('stores every result once Redis is back, logs the outage once, never acks an unstored result', { timeout: 120_000 }, async () => {
    const s = setup(undefined, 'rbdown', { CELERYTS_RESULT_BACKEND: redis.url }, tempBrokerUrl());
    const app = await client(s, { resultBackend: redis.url });
    const first = await startWorker(s, ['--acks-late']);
    try {
      const warm = await app.sendTask('faults.record', ['warm', 0]);
      assert.equal(await warm.get({ timeout: 15 }), 'warm');

      const back = redis.restart(6000);
      await sleep(800); // SHUTDOWN has taken effect
      const ids = Array.from({ length: 10 }, (_, i) => `down-${i}-${randomUUID().slice(0, 8)}`);
      await Promise.all(ids.map((id) => app.sendTask('faults.record', [id, 0], {}, { taskId: id })));
      // Concurrency 4 (the fault app's): four tasks run and then hold their slots, storing.
      await untilEnded(s.record, 1 + 4, 5000);
      const outageLines = () => logLines(first.output()).filter((l) => /cannot store results in the Redis result backend/.test(String(l['msg'])));
      await eventually(() => outageLines().length > 0, 4000, 'the outage to be logged');
      await sleep(1000);
      const outage = outageLines();
      assert.equal(outage.length, 1, `the outage is logged once, got ${outage.length}`);
      assert.match(String(outage[0]!['backend']), /^redis:\/\/127\.0\.0\.1:\d+/);
      const ranInFirst = runs(s.record)
        .filter((r) => r.event === 'end' && r.id !== 'warm')
        .map((r) => r.id);
      assert.equal(ranInFirst.length, 4);
      // They ran but their results are not stored: with acks late they are not acked either.
      await kill(first);
      await back;

      const second = await startWorker(s, ['--acks-late']);
      try {
        for (const id of ids) {
          const r = await app.asyncResult(id);
          assert.equal(await r.get({ timeout: 30 }), id, `result of ${id} stored after the outage`);
        }
        const secondRuns = new Set(
          runs(s.record)
            .filter((r) => r.pid === second.child.pid && r.event === 'end')
            .map((r) => r.id),
        );
        for (const id of ranInFirst) assert.ok(secondRuns.has(id), `${id} was not acked by the killed worker, so the next one ran it again`);
      } finally {
        assert.equal(await terminate(second), 0);
      }
    } finally {
      if (first.child.exitCode === null && first.child.signalCode === null) await kill(first);
      await app.close();
    }
  });
});

describe('Redis result backend restarted while a client waits', () => {
  it('a pending wait (no timeout) gets its result after the subscriber reconnects', { timeout: 60_000 }, async () => {
    const s = setup(undefined, 'rbwait', { CELERYTS_RESULT_BACKEND: redis.url }, tempBrokerUrl());
    const app = await client(s, { resultBackend: redis.url });
    const w = await startWorker(s);
    try {
      const r = await app.sendTask<string>('faults.record', ['long', 3500]);
      let value: string | undefined;
      const waiting = r.get().then((v) => (value = v));
      await untilStarted(s.record, 'long');
      await redis.restart(1500); // the client's subscription goes with the connection
      await waiting;
      assert.equal(value, 'long');
    } finally {
      await terminate(w);
      await app.close();
    }
  });
});

/** Wait until task `id` has started. */
function untilStarted(file: string, id: string): Promise<unknown> {
  return eventually(() => runs(file).some((r) => r.event === 'start' && r.id === id), 10_000, `${id} to start`);
}
