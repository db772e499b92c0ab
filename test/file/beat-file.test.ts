/**
 * Beat on the embedded file broker, as users run it: `celeryts beat` processes (several at once,
 * one killed with SIGKILL), restarts, `worker -B`, the CLI's list/add/remove, `app.beat` and the
 * errors a bad schedule gives. Ticks are read back from the queue and identified by their ids.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createApp } from 'celeryts';
import { cli, E2E, eventually, readRecord, tempBrokerUrl, tempRecordFile } from '../support/harness.js';
import { assertEveryTickOnce, assertRestartTicks, beatProject, drainTicks, spawnCli, stop, waitForTicks, type CliProcess } from '../support/beat-harness.js';

const running: CliProcess[] = [];
after(async () => {
  for (const p of running) await stop(p);
});

function beat(cwd: string, args: string[] = []): CliProcess {
  const p = spawnCli(['beat', ...args], { cwd });
  running.push(p);
  return p;
}

/** A project with one entry every `seconds`, sent to queue `ticks`, with fast elections. */
function tickProject(brokerUrl: string, seconds: number, extra: object = {}) {
  return beatProject({
    brokerUrl,
    beatLockTimeout: 0.5,
    beatSchedule: { tick: { task: 'app.tick', schedule: seconds, args: ['hello'], options: { queue: 'ticks' } } },
    ...extra,
  });
}

describe('celeryts beat on the file broker', () => {
  it('two instances: one sends; kill -9 the leader and the other takes over with every tick sent once', async () => {
    const brokerUrl = tempBrokerUrl();
    const dir = tickProject(brokerUrl, 1);
    const a = beat(dir);
    await a.waitFor(/beat: leading/);
    const b = beat(dir);
    await b.waitFor(/another instance leads; standing by/);
    await waitForTicks(brokerUrl, 'ticks', 2);
    a.child.kill('SIGKILL');
    const killedAt = Date.now();
    await b.waitFor(/beat: leading/, 5000);
    const tookOver = Date.now() - killedAt;
    assert.ok(tookOver < 3000, `took over after ${tookOver} ms`);
    await waitForTicks(brokerUrl, 'ticks', 4);
    assert.equal(await stop(b), 0);
    const ticks = await drainTicks(brokerUrl, 'ticks');
    assert.ok(ticks.length >= 4);
    assertEveryTickOnce(ticks, 1000);
    assert.ok(ticks.every((t) => t.task === 'app.tick' && JSON.stringify(t.args) === '["hello"]'));
    assert.doesNotMatch(b.output().split('beat: leading')[0]!, /Sending due task/, 'the standby sent nothing while the leader lived');
  });

  it('a restart sends nothing twice; ticks missed while it was down are sent once (coalesced) on start', async () => {
    const brokerUrl = tempBrokerUrl();
    const dir = tickProject(brokerUrl, 0.5);
    const first = beat(dir);
    await waitForTicks(brokerUrl, 'ticks', 3);
    assert.equal(await stop(first), 0);
    const before = await drainTicks(brokerUrl, 'ticks');
    await new Promise((r) => setTimeout(r, 1600)); // three ticks fall due while no beat runs
    const second = beat(dir);
    await waitForTicks(brokerUrl, 'ticks', 3);
    assert.equal(await stop(second), 0);
    const afterRestart = await drainTicks(brokerUrl, 'ticks');
    assert.ok(assertRestartTicks(before, afterRestart, 500, second.output()) >= 3, 'three ticks fell due while no beat ran: the latest was sent');
  });

  it('runs missed while no beat ran: sent once on start within beatStartingDeadline, skipped and logged beyond it', async () => {
    const brokerUrl = tempBrokerUrl();
    const dir = beatProject({ brokerUrl, beatLockTimeout: 0.5, beatStartingDeadline: 10 });
    const app = await createApp({ cwd: dir, logLevel: 'silent', setAsCurrent: false });
    const t0 = Date.now();
    try {
      // Written a minute ago (as if `beat add` ran then), due 30 s ago: later than the deadline.
      const store = await app.beat.store();
      await store.setEntry('old', {
        entry: { task: 'app.old', schedule: { once: t0 - 30_000 }, options: { queue: 'missed' } },
        source: 'runtime',
        since: t0 - 60_000,
      });
      // Due in a moment, before beat is up: a few hundred ms late when it starts.
      await app.beat.set('recent', { task: 'app.recent', schedule: { once: t0 + 300 }, options: { queue: 'missed' } });
    } finally {
      await app.close();
    }
    await new Promise((r) => setTimeout(r, t0 + 400 - Date.now()));
    const p = beat(dir);
    await p.waitFor(/skipped the run of old due at .*later than beatStartingDeadline/);
    await waitForTicks(brokerUrl, 'missed', 1);
    await stop(p);
    assert.deepEqual(
      (await drainTicks(brokerUrl, 'missed')).map((t) => [t.task, t.due]),
      [['app.recent', t0 + 300]],
    );
  });

  it('worker -B runs the schedule through its own worker', async () => {
    const brokerUrl = tempBrokerUrl();
    const record = tempRecordFile();
    const dir = beatProject({
      root: E2E,
      imports: ['app.jobs'],
      brokerUrl,
      beatLockTimeout: 0.5,
      beatSchedule: { steps: { task: 'app.jobs.step', schedule: 0.3, args: ['beat'] } },
    });
    const w = spawnCli(['worker', '-B', '-c', '2'], { cwd: dir, env: { RECORD_FILE: record } });
    running.push(w);
    await eventually(() => readRecord(record).filter((r) => r.event === 'end').length >= 3, 15_000, 'three beat-sent tasks run').catch((err: Error) => {
      throw new Error(`${err.message}\n${w.output()}`);
    });
    assert.equal(await stop(w), 0);
    assert.ok(readRecord(record).every((r) => r.label === 'beat'));
  });

  it('an invalid schedule exits 2 naming the entry and the field; an unknown task is a warning', async () => {
    const brokerUrl = tempBrokerUrl();
    const bad = beatProject({ brokerUrl, beatSchedule: { nightly: { task: 'x', schedule: { crontab: '0 25 * * *' } } } });
    const r = cli(['beat'], { cwd: bad });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /CELERYTS_INVALID_SCHEDULE.*beat entry 'nightly': schedule\.crontab\.hour 25 is out of range 0-23/);
    const w = cli(['worker', '-B'], { cwd: bad });
    assert.equal(w.status, 2, 'worker -B checks the schedule before it starts');
    const unknown = beatProject({
      root: E2E,
      imports: ['app.jobs'],
      brokerUrl,
      beatLockTimeout: 0.5,
      beatSchedule: { typo: { task: 'app.jobs.stpe', schedule: 60 } },
    });
    const p = beat(unknown);
    await p.waitFor(/beat entry 'typo': task 'app\.jobs\.stpe' is not registered in the loaded modules; sending anyway/);
    await stop(p);
  });

  it('beat add / list / remove, and app.beat.set, reach a running leader within a poll', async () => {
    const brokerUrl = tempBrokerUrl();
    const dir = tickProject(brokerUrl, 60);
    const leader = beat(dir);
    await leader.waitFor(/beat: leading/);
    const add = cli(['beat', 'add', 'fast', 'app.fast', '7', '--every', '0.3s', '-Q', 'fast'], { cwd: dir });
    assert.equal(add.status, 0, add.stderr);
    assert.match(add.stdout, /^fast\s+app\.fast\s+every 300ms\s+runtime/);
    await waitForTicks(brokerUrl, 'fast', 2, 5000);
    const list = cli(['beat', 'list', '--json'], { cwd: dir });
    const rows = JSON.parse(list.stdout) as { name: string; source: string; totalRuns: number; nextRun: string }[];
    assert.deepEqual(
      rows.map((r) => [r.name, r.source]),
      [
        ['fast', 'runtime'],
        ['tick', 'config'],
      ],
    );
    assert.ok(rows[0]!.totalRuns >= 1);
    assert.equal(cli(['beat', 'remove', 'fast'], { cwd: dir }).status, 0);
    assert.equal(cli(['beat', 'remove', 'fast'], { cwd: dir }).status, 1);
    await leader.waitFor(/beat: entry fast removed/, 5000);
    await drainTicks(brokerUrl, 'fast');
    await new Promise((r) => setTimeout(r, 700));
    assert.equal((await drainTicks(brokerUrl, 'fast')).length, 0, 'nothing sent once the leader saw the removal');

    const app = await createApp({ cwd: dir, logLevel: 'silent', setAsCurrent: false });
    try {
      await app.beat.set('api', { task: 'app.api', schedule: { every: '250ms' }, kwargs: { k: 1 }, options: { queue: 'api' } });
      await waitForTicks(brokerUrl, 'api', 1, 5000);
      await assert.rejects(
        app.beat.set('broken', { task: 'x', schedule: { crontab: '61 * * * *' } }),
        /beat entry 'broken': schedule\.crontab\.minute 61 is out of range/,
      );
      assert.equal(await app.beat.remove('api'), true);
    } finally {
      await app.close();
    }
    await stop(leader);
  });
});
