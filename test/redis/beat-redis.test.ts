/**
 * Beat on Redis (RedBeat's lease lock plus fenced state writes): with the Redis broker itself,
 * two `celeryts beat` processes and a SIGKILL, every tick sent once; and with only the store on
 * Redis (`beatStoreUrl`, ticks through the embedded broker): failover, restarts, and a leader
 * that lost its lock or outlived its lease unable to send or write. Everything lives in
 * CELERYTS_TEST_REDIS_URL under names of this run.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createBroker } from 'celeryts';
import { LeadershipLostError } from '../../src/core/errors.js';
import { RedisBeatStore } from '../../src/beat/redis/redis-store.js';
import { parseRedisUrl } from '../../src/util/redis-url.js';
import { cli, tempBrokerUrl } from '../support/harness.js';
import { assertEveryTickOnce, assertRestartTicks, beatProject, drainTicks, spawnCli, stop, waitForTicks, type CliProcess } from '../support/beat-harness.js';

const REDIS = process.env['CELERYTS_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/15';
const run = randomUUID().slice(0, 8);
const redis = new Redis(parseRedisUrl(REDIS).options);
const running: CliProcess[] = [];
const silent = { debug() {}, info() {}, warn() {}, error() {} };

after(async () => {
  for (const p of running) await stop(p);
  const keys = await redis.keys(`test.beat.${run}.*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

function project(name: string, seconds: number) {
  const brokerUrl = tempBrokerUrl();
  const dir = beatProject({
    brokerUrl,
    beatStoreUrl: REDIS,
    beatKeyPrefix: `test.beat.${run}.${name}`,
    beatLockTimeout: 0.5,
    beatSchedule: { tick: { task: 'app.tick', schedule: seconds, options: { queue: 'ticks' } } },
  });
  return { dir, brokerUrl };
}

function beat(cwd: string): CliProcess {
  const p = spawnCli(['beat'], { cwd });
  running.push(p);
  return p;
}

describe('celeryts beat on the Redis broker', () => {
  it('two instances, kill -9 the leader: the other takes over within the lease, every tick sent once', async () => {
    const queue = `test.beat.${run}.broker.ticks`;
    const dir = beatProject({
      brokerUrl: REDIS,
      beatKeyPrefix: `test.beat.${run}.broker`,
      beatLockTimeout: 0.5,
      beatSchedule: { tick: { task: 'app.tick', schedule: 2, args: ['on redis'], options: { queue } } },
    });
    try {
      const a = beat(dir);
      await a.waitFor(/beat: leading/);
      const b = beat(dir);
      await b.waitFor(/another instance leads; standing by/);
      await waitForTicks(REDIS, queue, 2);
      a.child.kill('SIGKILL');
      await b.waitFor(/beat: leading/, 5000);
      await waitForTicks(REDIS, queue, 4);
      assert.equal(await stop(b), 0);
      const ticks = await drainTicks(REDIS, queue);
      assertEveryTickOnce(ticks, 2000);
      assert.ok(ticks.every((t) => JSON.stringify(t.args) === '["on redis"]'));
    } finally {
      const broker = await createBroker(REDIS);
      await broker.connect();
      await broker.deleteQueue(queue).catch(() => undefined);
      await broker.close();
    }
  });
});

describe('celeryts beat with its store on Redis (beatStoreUrl) and another broker', () => {
  it('a clean stop releases the lock at once, and the state in Redis carries the grid over', async () => {
    const { dir, brokerUrl } = project('restart', 1);
    const first = beat(dir);
    await waitForTicks(brokerUrl, 'ticks', 2);
    assert.equal(await stop(first), 0);
    assert.equal(await redis.exists(`test.beat.${run}.restart:lock`), 0, 'released, not left to expire');
    const before = await drainTicks(brokerUrl, 'ticks');
    const second = beat(dir);
    await waitForTicks(brokerUrl, 'ticks', 2);
    assert.equal(await stop(second), 0);
    assertRestartTicks(before, await drainTicks(brokerUrl, 'ticks'), 1000, second.output());
    const list = cli(['beat', 'list', '--json'], { cwd: dir });
    assert.ok((JSON.parse(list.stdout) as { totalRuns: number }[])[0]!.totalRuns >= 4, list.stdout);
  });

  it('a leader whose lock was taken can neither write state nor go on leading', async () => {
    const prefix = `test.beat.${run}.fenced`;
    const store = new RedisBeatStore(REDIS, prefix, { leaseMs: 5000, pollMs: 1000 }, silent);
    const other = new RedisBeatStore(REDIS, prefix, { leaseMs: 5000, pollMs: 1000 }, silent);
    try {
      const lead = await store.tryLead();
      assert.ok(lead);
      assert.equal(await other.tryLead(), undefined, 'one leader');
      await lead.writeState({ e: { last: 1, total: 1, schedule: 'every 1s' } });
      await redis.set(`${prefix}:lock`, 'another-instance', 'PX', 5000);
      await assert.rejects(lead.writeState({ e: { last: 2, total: 2, schedule: 'every 1s' } }), LeadershipLostError);
      assert.equal(lead.signal.aborted, true);
      assert.equal((await store.readState())['e']!.last, 1, "the successor's state is untouched");
      await lead.release();
      assert.equal(await redis.get(`${prefix}:lock`), 'another-instance', 'release only deletes its own token');
    } finally {
      await Promise.all([store.close(), other.close()]);
    }
  });

  it('a leader whose event loop stalled past its lease knows it before anything else runs', async () => {
    const store = new RedisBeatStore(REDIS, `test.beat.${run}.stall`, { leaseMs: 400, pollMs: 80 }, silent);
    try {
      const lead = await store.tryLead();
      assert.ok(lead);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(lead.signal.aborted, false, 'renewed while the loop runs');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600); // block: no timer, no renewal
      assert.equal(lead.signal.aborted, true, 'the lease ran out while blocked: no send may follow');
      await lead.release();
    } finally {
      await store.close();
    }
  });
});
