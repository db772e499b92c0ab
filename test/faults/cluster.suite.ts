/**
 * A three-node RabbitMQ cluster (private nodes on their own ports, joined with join_cluster,
 * stopped by a watchdog) with quorum task queues, workers spread over the nodes through broker
 * URL lists (issue 18):
 *   1. acks late, 2,000 tasks: the node holding the queue's leader is SIGKILLed mid-run, then
 *      restarted: every task recorded, none lost, redeliveries flagged; the workers of the dead
 *      node move to another node within 5 s and say where (password masked).
 *   2. a client publishing with confirms while its node dies: every confirmed publish runs,
 *      exactly once or flagged redelivered.
 *   3. one node stopped and started again (stop_app/start_app): nothing lost, its workers carry
 *      on elsewhere within 5 s, and the node's return disturbs nobody.
 *
 * NOT in CI yet (`npm run test:cluster`; the name keeps it out of test/faults/*.test.ts): on
 * this machine the three scenarios fail today. After a failover under a steady publish load,
 * the client's publishes to the quorum queue are nacked for as long as the test watches (raw
 * amqplib with the same sequence is acked at once), and a worker whose node was SIGKILLed had
 * not logged its move within 10 s. Open work: see the cluster branch report.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from 'celeryts';
import { eventually, type WorkerProcess } from '../support/harness.js';
import { client, endedIds, logLines, runs, sendRecords, setup, startWorker, terminate, type Setup } from './kit.js';
import { privateCluster, type PrivateCluster } from './private-cluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MOVED = /^broker connection restored on another node: /;

/** Every id ran; an id that ran more than once ran again only as a flagged redelivery. */
function assertNoneLostDuplicatesFlagged(record: string, ids: readonly string[]): void {
  const ended = endedIds(record);
  const missing = ids.filter((id) => !ended.has(id));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${ids.length} tasks never ran`);
  const starts = new Map<string, boolean[]>();
  for (const r of runs(record)) if (r.event === 'start') starts.set(r.id, [...(starts.get(r.id) ?? []), r.redelivered]);
  const unflagged = [...starts].filter(([, flags]) => flags.length > 1 && flags.slice(1).some((f) => !f)).map(([id]) => id);
  assert.deepEqual(unflagged.slice(0, 10), [], `${unflagged.length} tasks ran again without being flagged redelivered`);
}

/** When a worker said it moved to another node after `since`, or undefined. */
function movedAt(w: WorkerProcess, since: number): { at: number; node: string } | undefined {
  const line = logLines(w.output()).find((l) => MOVED.test(String(l['msg'])) && Number(l['time']) > since);
  return line ? { at: Number(line['time']), node: String(line['node']) } : undefined;
}

describe('a three-node RabbitMQ cluster with quorum queues (private nodes)', () => {
  let cluster: PrivateCluster;
  let s: Setup;
  let app: App;
  let workers: WorkerProcess[] = [];

  before(async () => {
    cluster = await privateCluster();
  });
  after(async () => {
    await Promise.all(workers.map((w) => terminate(w)));
    await app?.close();
  });

  /** A queue of its own, a client on node `clientNode`, one worker per node (each listing its own node first). */
  async function start(prefix: string, clientNode: number): Promise<void> {
    await Promise.all(workers.map((w) => terminate(w)));
    await app?.close();
    s = setup(undefined, prefix, { FAULTS_QUEUE_TYPE: 'quorum' }, cluster.urlList(clientNode));
    app = await client(s, { defaultQueueType: 'quorum' });
    // The 28 quorum levels of native delayed delivery, declared once before the workers start.
    const broker = await app.broker();
    await broker.declareQueue(s.queue, { queueType: 'quorum' });
    await broker.bindNativeDelayedDelivery?.(s.queue);
    workers = await Promise.all([0, 1, 2].map((i) => startWorker({ ...s, url: cluster.urlList(i) }, ['-c', '8', '--acks-late'])));
  }

  it('acks late, 2,000 tasks; the queue leader node SIGKILLed mid-run and restarted: none lost, redeliveries flagged, workers moved within 5 s', async () => {
    await start('cluster-kill', 0);
    const ids = Array.from({ length: 2000 }, (_, i) => `k${i}`);
    await sendRecords(app, ids, 30);
    await eventually(() => endedIds(s.record).size >= 300, 60_000, 'a first part of the tasks to run');
    const leader = await cluster.leaderOf(s.queue);
    await cluster.kill(leader);
    const killed = Date.now();
    const own = workers[leader]!;
    await eventually(() => movedAt(own, killed - 1000), 10_000, `the worker on node ${leader + 1} to move`);
    const moved = movedAt(own, killed - 1000)!;
    assert.ok(moved.at - killed <= 5000, `moved ${moved.at - killed} ms after the kill`);
    assert.ok(moved.node.includes(':****@'), `the log names the node it moved to, masked: ${moved.node}`);
    await cluster.restart(leader);
    await eventually(() => endedIds(s.record).size >= ids.length, 120_000, 'every task to run');
    assertNoneLostDuplicatesFlagged(s.record, ids);
    for (const w of workers) assert.equal(w.child.exitCode, null, 'no worker exited');
  });

  it('a client publishing with confirms while its node dies: every confirmed publish runs, once or flagged', async () => {
    await start('cluster-publish', 1);
    const confirmed: string[] = [];
    let failed = 0;
    let n = 0;
    let publishing = true;
    const pending = new Set<Promise<unknown>>();
    const publisher = (async () => {
      while (publishing) {
        for (let i = 0; i < 5; i++) {
          const id = `p${n++}`;
          const p = app
            .sendTask('faults.record', [id, 5], {}, { ignoreResult: true, taskId: id })
            .then(
              () => confirmed.push(id),
              () => failed++,
            )
            .finally(() => pending.delete(p));
          pending.add(p);
        }
        await sleep(10);
      }
    })();
    await eventually(() => confirmed.length >= 300, 30_000, 'publishes confirmed before the kill');
    await cluster.kill(1);
    const killed = Date.now();
    await sleep(6000);
    const afterKill = confirmed.length;
    publishing = false;
    await publisher;
    await Promise.all(pending);
    assert.ok(afterKill > 300 + 50, `the client went on publishing on another node (${afterKill} confirmed ${Date.now() - killed} ms after the kill)`);
    await cluster.restart(1);
    await eventually(() => confirmed.every((id) => endedIds(s.record).has(id)), 90_000, 'every confirmed publish to run');
    // Unconfirmed ones (rejected while the node died) may or may not have reached the queue.
    assertNoneLostDuplicatesFlagged(s.record, confirmed);
    assert.ok(failed < confirmed.length / 10, `${failed} publishes failed`);
  });

  it('one node stopped and started again (stop_app, start_app): nothing lost, its workers carry on elsewhere within 5 s', async () => {
    await start('cluster-stopapp', 0);
    const first = Array.from({ length: 600 }, (_, i) => `s${i}`);
    await sendRecords(app, first, 20);
    await eventually(() => endedIds(s.record).size >= 100, 30_000, 'tasks running');
    await cluster.stopApp(2);
    const stopped = Date.now();
    await eventually(() => movedAt(workers[2]!, stopped - 1000), 10_000, 'the worker on node 3 to move');
    assert.ok(movedAt(workers[2]!, stopped - 1000)!.at - stopped <= 5000, 'moved within 5 s');
    const during = Array.from({ length: 200 }, (_, i) => `d${i}`);
    await sendRecords(app, during, 5);
    await cluster.startApp(2);
    const returned = Date.now();
    const later = Array.from({ length: 200 }, (_, i) => `l${i}`);
    await sendRecords(app, later, 5);
    await eventually(() => later.every((id) => endedIds(s.record).has(id)), 30_000, 'tasks sent after the return to run');
    const firstRun = Math.min(
      ...runs(s.record)
        .filter((r) => r.id.startsWith('l') && r.event === 'end')
        .map((r) => r.at),
    );
    assert.ok(firstRun - returned <= 5000, `tasks ran ${firstRun - returned} ms after the node's return`);
    await eventually(() => endedIds(s.record).size >= first.length + during.length + later.length, 60_000, 'every task to run');
    assertNoneLostDuplicatesFlagged(s.record, [...first, ...during, ...later]);
  });
});
