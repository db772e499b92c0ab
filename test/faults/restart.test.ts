/**
 * RabbitMQ restarted mid-run (rabbitmqctl stop_app, a pause, start_app) while a client publishes
 * and an acks-late worker consumes: both reconnect and resume within 5 s of the broker's
 * return, the worker neither crashes nor sends a stale delivery tag (PRECONDITION_FAILED), and
 * every publish the broker confirmed runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { App } from 'celeryts';
import { eventually } from '../support/harness.js';
import { client, endedIds, logLines, runs, setup, startWorker, terminate, type Setup } from './kit.js';
import { privateRabbit, type PrivateRabbit } from './private-rabbit.js';

const OUTAGE_MS = 3000;
const RESUME_WITHIN_MS = 5000;

describe('RabbitMQ restarted mid-run (private node: stop_app, start_app)', () => {
  let rabbit: PrivateRabbit;
  let s: Setup;
  let app: App;
  before(async () => {
    rabbit = await privateRabbit();
    s = setup(rabbit, 'restart');
    app = await client(s);
  });
  after(() => app.close());

  it("worker and client resume within 5 s of the broker's return; every confirmed publish runs; no stale tags", async () => {
    const broker = await app.broker();
    let clientBack = 0;
    broker.on('reconnected', () => (clientBack ||= Date.now()));
    const w = await startWorker(s, ['-c', '8', '--acks-late']);

    // Publish a steady stream: 5 tasks every 10 ms, each remembered once the broker confirms it.
    const confirmed = new Map<string, number>();
    const failed: string[] = [];
    const pending = new Set<Promise<unknown>>();
    let n = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        for (let i = 0; i < 5; i++) {
          const id = `r${n++}`;
          const p = app
            .sendTask('faults.record', [id, 20], {}, { ignoreResult: true, taskId: id })
            .then(
              () => confirmed.set(id, Date.now()),
              () => failed.push(id),
            )
            .finally(() => pending.delete(p));
          pending.add(p);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    })();

    await eventually(() => endedIds(s.record).size >= 100, 10_000, 'tasks running before the restart');
    await rabbit.stopApp();
    const down = Date.now();
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
    await rabbit.startApp();
    const back = Date.now();
    await new Promise((r) => setTimeout(r, RESUME_WITHIN_MS + 1000));
    publishing = false;
    await publisher;
    await Promise.all(pending);

    const workerBack = logLines(w.output()).find((l) => l['msg'] === 'broker reconnected' && Number(l['time']) > down);
    assert.ok(workerBack, 'the worker logged that it reconnected');
    const workerResumed = runs(s.record).find((r) => r.event === 'start' && r.at > back);
    const firstConfirm = Math.min(...[...confirmed.values()].filter((t) => t > back));
    const times = {
      workerReconnected: Number(workerBack['time']) - back,
      workerRanATask: (workerResumed?.at ?? Infinity) - back,
      clientReconnected: clientBack - back,
      clientPublishConfirmed: firstConfirm - back,
    };
    for (const [what, ms] of Object.entries(times)) assert.ok(ms <= RESUME_WITHIN_MS, `${what} ${ms} ms after the broker's return`);

    // Every confirmed publish runs (acks late: tasks running at the restart are redelivered and run again).
    await eventually(
      () => {
        const ended = endedIds(s.record);
        return [...confirmed.keys()].every((id) => ended.has(id));
      },
      60_000,
      'every confirmed task to run',
    );
    assert.equal(w.child.exitCode, null, 'the worker did not crash');
    const out = w.output();
    assert.doesNotMatch(out, /PRECONDITION_FAILED|unknown delivery tag/i);
    assert.doesNotMatch(out, /unhandled|uncaught/i);
    // Disconnect and reconnect lines name the broker with its password masked, never in clear.
    assert.doesNotMatch(out, /guest:guest@/);
    assert.equal(await terminate(w), 0);
    console.log(
      `broker restart: down ${back - down} ms; after its return: worker reconnected in ${times.workerReconnected} ms, ran a task in ${times.workerRanATask} ms; ` +
        `client reconnected in ${times.clientReconnected} ms, first confirm in ${times.clientPublishConfirmed} ms; ` +
        `${confirmed.size} publishes confirmed, all ran; ${failed.length} publishes refused; ` +
        `${runs(s.record).filter((r) => r.event === 'start' && r.redelivered).length} runs flagged redelivered`,
    );
  });
});
