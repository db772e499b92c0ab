/**
 * SIGTERM mid-run: the tasks in flight finish and are acked, the worker exits 0, and with the
 * next worker every task runs exactly once (nothing lost, nothing run twice), with late and
 * early acks.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { client, endedIds, runs, sendRecords, setup, startWorker, terminate, untilEnded } from './kit.js';
import { privateRabbit, type PrivateRabbit } from './private-rabbit.js';

const TASKS = 300;

describe('SIGTERM mid-run (private RabbitMQ)', () => {
  let rabbit: PrivateRabbit;
  before(async () => {
    rabbit = await privateRabbit();
  });

  for (const acks of ['late', 'early'] as const) {
    it(`acks ${acks}: running tasks finish and are acked, exit 0, every task runs exactly once`, async () => {
      const s = setup(rabbit, `term-${acks}`);
      const app = await client(s);
      try {
        const ids = Array.from({ length: TASKS }, (_, i) => `${i}-${randomUUID().slice(0, 8)}`);
        await sendRecords(app, ids, 40);
        const args = ['-c', '8', ...(acks === 'late' ? ['--acks-late'] : [])];
        const w1 = await startWorker(s, args);
        await untilEnded(s.record, 80);
        const signalled = Date.now();
        assert.equal(await terminate(w1), 0, w1.output().slice(-2000));
        const stopMs = Date.now() - signalled;
        const mine = runs(s.record).filter((r) => r.pid === w1.child.pid);
        const started = new Set(mine.filter((r) => r.event === 'start').map((r) => r.id));
        const ended = new Set(mine.filter((r) => r.event === 'end').map((r) => r.id));
        assert.deepEqual(
          [...started].filter((id) => !ended.has(id)),
          [],
          'every task the worker started finished before it exited',
        );
        assert.match(w1.output(), /Warm shutdown/);

        const w2 = await startWorker(s, args);
        await untilEnded(s.record, TASKS);
        assert.equal(await terminate(w2), 0);
        const all = runs(s.record);
        const starts = new Map<string, number>();
        for (const r of all) if (r.event === 'start') starts.set(r.id, (starts.get(r.id) ?? 0) + 1);
        assert.deepEqual(
          ids.filter((id) => !endedIds(s.record).has(id)),
          [],
          'nothing lost',
        );
        assert.deepEqual(
          [...starts].filter(([, n]) => n > 1),
          [],
          'nothing run twice',
        );
        assert.equal(await (await app.broker()).queueSize(s.queue), 0);
        const inFlight = mine.filter((r) => r.event === 'end' && r.at >= signalled).length;
        console.log(
          `SIGTERM, acks ${acks}: ${inFlight} tasks in flight at the signal finished; exit 0 ${stopMs} ms after it; first worker ran ${ended.size}, all ${TASKS} ran exactly once`,
        );
      } finally {
        await app.close();
      }
    });
  }
});
