/**
 * Issue 13.2: acks-late tasks that were only prefetched and given back (graceful SIGTERM with a
 * big prefetch, connection blips) are innocent: they all run, however often that happens. Only a
 * task that started and lost its worker counts towards maxRedeliveries, and such a poison task
 * ends in the dead-letter queue, which exists without configuration, where `celeryts dlq show`
 * says why and `celeryts dlq replay` puts it back on its queue. On the private RabbitMQ node,
 * the embedded file broker and a private Redis.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { App } from 'celeryts';
import { cli, eventually, tempBrokerUrl } from '../support/harness.js';
import { client, endedIds, FAULTS_APP, gone, logLines, runs, sendRecords, setup, spawnWorkerNoWait, startWorker, terminate, type Setup } from './kit.js';
import { privateRabbit, type PrivateRabbit } from './private-rabbit.js';
import { privateRedis } from './private-redis.js';

const TASKS = 40;
const RESTARTS = 6;
const WORKER_ARGS = ['-c', '1', '--prefetch-multiplier', '100', '--acks-late'];
/** Each task's run time: 40 of them outlast the blips and restarts. */
const TASK_MS = 250;
/** A warm-restarted worker lives at least this long. */
const LIFETIME_MS = 2500;

/** Close every connection the worker process `pid` holds to the private node (never the shared broker's). */
async function blip(rabbit: PrivateRabbit, pid: number): Promise<number> {
  const ss = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${rabbit.port} )`], { encoding: 'utf8' });
  const ports = new Set(
    ss
      .split('\n')
      .filter((l) => l.includes(`pid=${pid},`))
      .map((l) => l.trim().split(/\s+/)[2]?.split(':').pop()),
  );
  const rows = (await rabbit.ctl('list_connections', 'pid', 'peer_port')).split('\n').map((l) => l.trim().split(/\s+/));
  let closed = 0;
  for (const [conn, port] of rows) {
    if (!conn?.startsWith('<') || !ports.has(port)) continue;
    await rabbit.ctl('close_connection', conn, 'fault test: connection blip').catch(() => undefined);
    closed++;
  }
  return closed;
}

/** Wait until `more` further tasks have ended (or all have). */
async function progress(s: Setup, more: number): Promise<void> {
  const target = Math.min(TASKS, endedIds(s.record).size + more);
  await eventually(() => endedIds(s.record).size >= target, 30_000, `${target} tasks ended`);
}

function brokers(): { name: string; url: () => Promise<{ url: string; rabbit?: PrivateRabbit; env?: NodeJS.ProcessEnv }> }[] {
  return [
    {
      name: 'private RabbitMQ',
      url: async () => {
        const rabbit = await privateRabbit();
        return { url: rabbit.url, rabbit };
      },
    },
    { name: 'file broker', url: async () => ({ url: tempBrokerUrl() }) },
    // A killed worker's messages come back after the visibility timeout: a short one.
    { name: 'private Redis', url: async () => ({ url: (await privateRedis()).url, env: { FAULTS_VISIBILITY_TIMEOUT: '3' } }) },
  ];
}

for (const b of brokers()) {
  describe(`innocent redeliveries and the dead-letter queue (${b.name})`, () => {
    let url: string;
    let rabbit: PrivateRabbit | undefined;
    let env: NodeJS.ProcessEnv = {};
    before(async () => {
      ({ url, rabbit, env = {} } = await b.url());
    });

    it(`acks late, -c 1, prefetch 100: ${TASKS} tasks through ${RESTARTS} warm restarts${b.name.includes('Rabbit') ? ` and ${RESTARTS} connection blips` : ''} all run; nothing dead-lettered`, async () => {
      const dlq = `faults.dlq.${randomUUID().slice(0, 8)}`;
      // The strictest limit: a single counted death would dead-letter a task, and none may be counted.
      const s = setup(rabbit, 'innocent', { ...env, FAULTS_DLQ: dlq, FAULTS_MAX_REDELIVERIES: '1' }, url);
      const app = await client(s);
      try {
        const ids = Array.from({ length: TASKS }, (_, i) => `${i}-${randomUUID().slice(0, 8)}`);
        await sendRecords(app, ids, TASK_MS);
        const outputs: string[] = [];
        let blips = 0;
        if (rabbit) {
          // One worker, its connections closed under it: everything it held comes back redelivered.
          const w = await startWorker(s, WORKER_ARGS);
          for (let i = 0; i < RESTARTS; i++) {
            await progress(s, 2);
            blips += await blip(rabbit, w.child.pid!);
            await eventually(() => (w.output().match(/broker reconnected/g) ?? []).length > i, 30_000, 'the worker back after the blip');
          }
          assert.equal(await terminate(w), 0);
          outputs.push(w.output());
        }
        // Warm restarts, each worker living long enough to be handed back what the last one gave back.
        for (let i = 0; i < RESTARTS; i++) {
          const w = await startWorker(s, WORKER_ARGS);
          await Promise.all([progress(s, 2), sleep(LIFETIME_MS)]);
          assert.equal(await terminate(w), 0, w.output().slice(-2000));
          outputs.push(w.output());
        }
        const w = await startWorker(s, WORKER_ARGS);
        await eventually(() => endedIds(s.record).size >= TASKS, 60_000, `all ${TASKS} tasks ended`);
        assert.equal(await terminate(w), 0);
        outputs.push(w.output());
        assert.deepEqual(
          ids.filter((id) => !endedIds(s.record).has(id)),
          [],
          'no task lost',
        );
        const broker = await app.broker();
        assert.ok(((await broker.queueSize(dlq)) ?? 0) === 0, 'nothing dead-lettered');
        const refused = outputs.flatMap((o) => logLines(o)).filter((l) => /Rejected/.test(String(l['msg'])));
        assert.deepEqual(refused, [], 'nothing refused');
        const starts = runs(s.record).filter((r) => r.event === 'start').length;
        console.log(
          `${b.name}: ${TASKS} acks-late tasks, prefetch 100, ${RESTARTS} warm restarts${rabbit ? `, ${blips} connections closed` : ''}: all ran (${starts} starts)`,
        );
      } finally {
        await app.close();
      }
    });

    describe('a poison task', () => {
      const MAX = 2;
      // Exactly: one unmarked first run, one marked run, then one per allowed counted death. On
      // Redis this holds because a marked task is touched after its mark is held, so a restore
      // pass never brings the task back before its mark (start-marks.ts).
      const KILLS = [MAX + 2];
      let s: Setup;
      let app: App;
      const dlq = `faults.dlq.${randomUUID().slice(0, 8)}`;
      const node = `poison-${randomUUID().slice(0, 8)}@%h`;
      before(async () => {
        s = setup(rabbit, 'poison-dlq', { ...env, FAULTS_DLQ: dlq, FAULTS_MAX_REDELIVERIES: String(MAX) }, url);
        app = await client(s);
      });
      after(() => app.close());

      const dlqCli = (...args: string[]) =>
        cli(['dlq', ...args, '--queue', dlq], { cwd: FAULTS_APP, env: { CELERYTS_BROKER_URL: url, FAULTS_QUEUE: s.queue } });

      it(`ends in the dead-letter queue after ${MAX} counted deaths; dlq list/show say why; dlq replay puts it back on its queue`, async () => {
        const id = `poison-${randomUUID().slice(0, 8)}`;
        await app.sendTask('faults.poison', [id], {}, { ignoreResult: true, taskId: id });
        const broker = await app.broker();
        let kills = 0;
        for (;;) {
          assert.ok(kills <= Math.max(...KILLS), `the poison task killed ${kills} workers`);
          // A stable node name, as under systemd or a supervisor: its start marks survive it.
          const w = await spawnWorkerNoWait(s, ['-n', node]);
          await eventually(
            async () => w.child.exitCode !== null || w.child.signalCode !== null || ((await broker.queueSize(dlq)) ?? 0) > 0,
            30_000,
            'a kill or the dead-letter queue',
          );
          if (w.child.exitCode === null && w.child.signalCode === null) {
            const errorsOf = () => logLines(w.output()).filter((l) => l['taskId'] === id && Number(l['level']) >= 50);
            await eventually(() => errorsOf().length > 0, 5000, 'the error line'); // logs are written in batches
            const loud = errorsOf();
            assert.equal(loud.length, 1, 'one error line with the task id');
            assert.match(String(loud[0]!['msg']), /started and lost its worker 3 times, over maxRedeliveries \(2\).*dead-letter queue/);
            assert.equal(await terminate(w), 0);
            break;
          }
          await gone(w);
          kills++;
          if (process.env['DEBUG_POISON'])
            console.log(
              `kill ${kills}:\n${w
                .output()
                .split('\n')
                .filter((l) => /started|Task|marks|Rejected|requeue|err/.test(l))
                .join('\n')
                .slice(-3000)}`,
            );
        }
        assert.ok(KILLS.includes(kills), `killed ${kills}: one unmarked first run, one marked, then one per allowed counted death, then the dead-letter queue`);

        const list = dlqCli('list');
        assert.equal(list.status, 0, list.stderr);
        assert.match(list.stdout, new RegExp(`^${id}  faults.poison  redelivery_limit  ${s.queue.replaceAll('.', '\\.')}  \\d{4}-`, 'm'));
        const show = dlqCli('show', id);
        assert.equal(show.status, 0, show.stderr);
        const shown = JSON.parse(show.stdout) as Record<string, any>;
        assert.equal(shown['reason'], 'redelivery_limit');
        assert.match(shown['error'], /maxRedeliveries/);
        assert.deepEqual(shown['body'][0], [id], 'the original arguments');
        assert.equal((await broker.queueSize(dlq)) ?? 0, 1, 'list and show leave it there');

        const replay = dlqCli('replay', id);
        assert.equal(replay.status, 0, replay.stderr);
        assert.match(replay.stdout, new RegExp(`replayed ${id} to ${s.queue.replaceAll('.', '\\.')}`));
        await eventually(async () => (await broker.queueSize(s.queue)) === 1, 10_000, 'the replayed message in its queue');
        assert.equal((await broker.queueSize(dlq)) ?? 0, 0);
        // It is the poison task again, with its count reset: the next worker runs it (and dies).
        const w = await spawnWorkerNoWait(s, ['-n', node]);
        await eventually(() => w.child.exitCode !== null || w.child.signalCode !== null, 30_000, 'the replayed poison task to run');
        await gone(w);
        assert.equal(runs(s.record).filter((r) => r.id === id && r.event === 'start').length, kills + 1);
        const purge = dlqCli('purge', '--all');
        assert.equal(purge.status, 2, 'purge --all wants -f');
        console.log(`${b.name}: poison task killed ${kills} workers (maxRedeliveries ${MAX}), then went to the dead-letter queue; replayed, it ran again`);
      });
    });
  });
}
