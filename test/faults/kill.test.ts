/**
 * Workers SIGKILLed mid-run, three times, over 1,000 tasks on RabbitMQ.
 * - acks late: every task runs to the end, and every run of a task a killed worker had taken
 *   is flagged redelivered (request.deliveryInfo.redelivered, recorded by the task);
 * - early acks: what is lost is at most what the killed workers had acked and started, and
 *   their debug logs name exactly those tasks.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { App } from 'celeryts';
import { eventually } from '../support/harness.js';
import { client, endedIds, idsLogged, kill, runs, sendRecords, setup, startWorker, terminate, untilEnded, type Setup } from './kit.js';
import { privateRabbit, type PrivateRabbit } from './private-rabbit.js';

const TASKS = 1000;
const KILL_AT = [150, 400, 650];
const TASK_MS = 15;

interface Killed {
  pid: number;
  output: string;
}

/** Publish TASKS tasks, run workers that are SIGKILLed after KILL_AT tasks ended, then one that finishes. */
async function killRun(s: Setup, app: App, workerArgs: string[], done: (ids: string[], killed: Killed[]) => boolean | Promise<boolean>) {
  const ids = Array.from({ length: TASKS }, (_, i) => `${i}-${randomUUID().slice(0, 8)}`);
  await sendRecords(app, ids, TASK_MS);
  const killed: Killed[] = [];
  for (const at of KILL_AT) {
    const w = await startWorker(s, workerArgs);
    await untilEnded(s.record, at);
    await kill(w);
    killed.push({ pid: w.child.pid!, output: w.output() });
  }
  const last = await startWorker(s, workerArgs);
  await eventually(() => done(ids, killed), 60_000, 'the run to finish');
  assert.equal(await terminate(last), 0, last.output().slice(-2000));
  return { ids, killed, lastOutput: last.output() };
}

/** Every run of a task that an earlier (killed) worker had received must say redelivered. */
function assertRedeliveriesFlagged(record: string, killed: Killed[]): number {
  const order = new Map(killed.map((k, i) => [k.pid, i]));
  const receivedBy = killed.map((k) => idsLogged(k.output, /^Task faults\.record\[.*\] received$/));
  let flagged = 0;
  for (const r of runs(record)) {
    if (r.event !== 'start') continue;
    const idx = order.get(r.pid) ?? killed.length;
    const takenBefore = receivedBy.slice(0, idx).some((set) => set.has(r.id));
    if (takenBefore) assert.ok(r.redelivered, `run of ${r.id} in pid ${r.pid} after a killed worker took it is not flagged redelivered`);
    if (r.redelivered) flagged++;
  }
  return flagged;
}

describe('workers SIGKILLed three times mid-run (private RabbitMQ)', () => {
  let rabbit: PrivateRabbit;
  before(async () => {
    rabbit = await privateRabbit();
  });

  describe('acks late: nothing is lost', () => {
    let s: Setup;
    let app: App;
    before(async () => {
      s = setup(rabbit, 'late');
      app = await client(s);
    });
    after(() => app.close());

    it('every id is recorded; the runs of tasks a killed worker held are flagged redelivered', async () => {
      const { ids, killed, lastOutput } = await killRun(
        s,
        app,
        ['-c', '8', '--acks-late', '--loglevel', 'debug'],
        (ids) => endedIds(s.record).size === ids.length,
      );
      const ended = endedIds(s.record);
      assert.deepEqual(
        ids.filter((id) => !ended.has(id)),
        [],
        'no id missing',
      );
      const all = runs(s.record);
      const inFlight = killed.map((k) => {
        const mine = all.filter((r) => r.pid === k.pid);
        const endedHere = new Set(mine.filter((r) => r.event === 'end').map((r) => r.id));
        return [...new Set(mine.filter((r) => r.event === 'start' && !endedHere.has(r.id)).map((r) => r.id))];
      });
      for (const [i, ids] of inFlight.entries()) {
        assert.ok(ids.length > 0, `kill ${i + 1} happened mid-task`);
        for (const id of ids)
          assert.ok(
            all.some((r) => r.id === id && r.event === 'end' && r.pid !== killed[i]!.pid && r.redelivered),
            `${id} ran again, flagged`,
          );
      }
      const flagged = assertRedeliveriesFlagged(s.record, killed);
      const starts = new Map<string, number>();
      for (const r of all) if (r.event === 'start') starts.set(r.id, (starts.get(r.id) ?? 0) + 1);
      const guardCopies = [...killed.map((k) => k.output), lastOutput].reduce((n, out) => n + idsLogged(out, /was redelivered \(/).size, 0);
      console.log(
        `acks late: ${TASKS} tasks, 3 kills; in flight at each kill: ${inFlight.map((x) => x.length).join(', ')}; ` +
          `runs flagged redelivered: ${flagged}; ids run more than once: ${[...starts.values()].filter((n) => n > 1).length}; ` +
          `redeliveries requeued with a count by the guard: ${guardCopies}; missing: 0`,
      );
      assert.equal(await (await app.broker()).queueSize(s.queue), 0);
    });
  });

  describe('early acks: losses are the tasks acked and started at each kill, and the log says which', () => {
    let s: Setup;
    let app: App;
    before(async () => {
      s = setup(rabbit, 'early');
      app = await client(s);
    });
    after(() => app.close());

    it('missing ids are a subset of "started" minus "succeeded" in the killed workers\' debug logs', async () => {
      const startedNotSucceeded = (k: Killed) => {
        const started = idsLogged(k.output, /^Task faults\.record\[.*\] started$/);
        const succeeded = idsLogged(k.output, /^Task faults\.record\[.*\] succeeded in /);
        return new Set([...started].filter((id) => !succeeded.has(id)));
      };
      let lastEnded = -1;
      let stableSince = 0;
      const { ids, killed } = await killRun(s, app, ['-c', '8', '--loglevel', 'debug'], async (ids, killed) => {
        const ended = endedIds(s.record);
        const suspects = new Set(killed.flatMap((k) => [...startedNotSucceeded(k)]));
        if (!ids.every((id) => ended.has(id) || suspects.has(id))) return false;
        if ((await (await app.broker()).queueSize(s.queue)) !== 0) return false;
        // Redelivered suspects (killed before their ack left) may still be running: wait for quiet.
        if (ended.size !== lastEnded) [lastEnded, stableSince] = [ended.size, Date.now()];
        return Date.now() - stableSince > 1000;
      });
      const ended = endedIds(s.record);
      const missing = ids.filter((id) => !ended.has(id));
      const suspects = killed.map(startedNotSucceeded);
      for (const id of missing)
        assert.ok(
          suspects.some((set) => set.has(id)),
          `${id} was lost but no killed worker logged it as started`,
        );
      const perKill = suspects.map((set) => missing.filter((id) => set.has(id)).length);
      for (const [i, set] of suspects.entries()) assert.ok(set.size <= 8, `kill ${i + 1}: at most concurrency (8) tasks in flight, log says ${set.size}`);
      const flagged = assertRedeliveriesFlagged(s.record, killed);
      console.log(
        `early acks: ${TASKS} tasks, 3 kills; acked-and-started but not succeeded per kill: ${suspects.map((x) => x.size).join(', ')}; ` +
          `lost per kill: ${perKill.join(', ')} (total ${missing.length}); runs flagged redelivered: ${flagged}`,
      );
    });
  });
});
