/**
 * Beat on RabbitMQ: two `celeryts beat` processes elect one leader through an exclusive queue;
 * kill -9 the leader and the standby takes over with every tick sent once; state and runtime
 * entries live in RabbitMQ, so restarts and entries added while no beat runs lose nothing.
 * Each run uses its own name prefix and queues.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import amqp from 'amqplib';
import { cli } from '../support/harness.js';
import { assertEveryTickOnce, assertRestartTicks, beatProject, drainTicks, spawnCli, stop, waitForTicks, type CliProcess } from '../support/beat-harness.js';

const AMQP = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const run = randomUUID().slice(0, 8);
const prefixes: string[] = [];
const queues: string[] = [];
const running: CliProcess[] = [];

after(async () => {
  for (const p of running) await stop(p);
  const conn = await amqp.connect(AMQP);
  const ch = await conn.createChannel();
  for (const p of prefixes) {
    for (const q of ['leader', 'state.leader', 'state.view', 'changes']) await ch.deleteQueue(`${p}.${q}`);
    await ch.deleteExchange(`${p}.state`);
  }
  for (const q of queues) {
    await ch.deleteQueue(q);
    await ch.deleteExchange(q); // the direct exchange Celery's topology declares per task queue
  }
  await conn.close();
});

/** A project on RabbitMQ with its own prefix; one entry every `seconds` to its own queue. */
function project(name: string, seconds: number) {
  const prefix = `test.beat.${run}.${name}`;
  const queue = `${prefix}.ticks`;
  prefixes.push(prefix);
  queues.push(queue);
  const dir = beatProject({
    brokerUrl: AMQP,
    beatKeyPrefix: prefix,
    beatLockTimeout: 0.5,
    beatSchedule: { tick: { task: 'app.tick', schedule: seconds, options: { queue } } },
  });
  return { dir, queue };
}

function beat(cwd: string): CliProcess {
  const p = spawnCli(['beat'], { cwd });
  running.push(p);
  return p;
}

describe('celeryts beat on RabbitMQ', () => {
  it('two instances: one sends; kill -9 the leader and the other takes over at once, every tick sent once', async () => {
    const { dir, queue } = project('failover', 1);
    const a = beat(dir);
    await a.waitFor(/beat: leading/);
    const b = beat(dir);
    await b.waitFor(/another instance leads; standing by/);
    await waitForTicks(AMQP, queue, 2);
    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await b.waitFor(/beat: leading/, 5000);
    const tookOver = Date.now() - killedAt;
    assert.ok(tookOver < 2000, `took over after ${tookOver} ms`);
    await waitForTicks(AMQP, queue, 4);
    assert.equal(await stop(b), 0);
    const ticks = await drainTicks(AMQP, queue);
    assert.ok(ticks.length >= 4);
    assertEveryTickOnce(ticks, 1000);
    assert.doesNotMatch(b.output().split('beat: leading')[0]!, /Sending due task/, 'the standby sent nothing while the leader lived');
  });

  it('a restart continues from the state kept in RabbitMQ: nothing twice, missed ticks coalesced', async () => {
    const { dir, queue } = project('restart', 1);
    const first = beat(dir);
    await waitForTicks(AMQP, queue, 2);
    assert.equal(await stop(first), 0);
    const before = await drainTicks(AMQP, queue);
    const second = beat(dir);
    await waitForTicks(AMQP, queue, 2);
    assert.equal(await stop(second), 0);
    assertRestartTicks(before, await drainTicks(AMQP, queue), 1000, second.output());
  });

  it('an entry added while no beat runs waits in RabbitMQ and is run by the next leader', async () => {
    const { dir } = project('pending', 60);
    const queue = `test.beat.${run}.pending.added`;
    queues.push(queue);
    const add = cli(['beat', 'add', 'added', 'app.added', '--every', '0.3', '-Q', queue], { cwd: dir });
    assert.equal(add.status, 0, add.stderr);
    const listed = cli(['beat', 'list'], { cwd: dir });
    assert.match(listed.stdout, /^added\s+app\.added\s+every 300ms\s+runtime/m, 'listed while only pending');
    const leader = beat(dir);
    await waitForTicks(AMQP, queue, 2);
    assert.equal(cli(['beat', 'remove', 'added'], { cwd: dir }).status, 0);
    await leader.waitFor(/beat: entry added removed/);
    assert.equal(await stop(leader), 0);
    assertEveryTickOnce(await drainTicks(AMQP, queue), 300);
    assert.doesNotMatch(cli(['beat', 'list'], { cwd: dir }).stdout, /^added/m);
  });
});
