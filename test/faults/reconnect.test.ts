/**
 * A running worker or client whose reconnection is refused (the user's permissions removed for
 * a few seconds) keeps retrying with capped backoff and comes back; with a give-up configured
 * (brokerReconnectMaxRetries) a worker exits 1, so a supervisor restarts it, and a client's
 * pending waits reject with CELERYTS_BROKER_GAVE_UP instead of hanging (issue 13, point 3).
 * The rpc reply queue outlives a blip: 500 results sent while the client was cut off for 4 s all arrive; a
 * reply queue that expired anyway rejects its waits with CELERYTS_RESULT_LOST (point 4).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { App } from 'celeryts';
import { eventually } from '../support/harness.js';
import { client, endedIds, gone, logLines, sendRecords, setup, startWorker, terminate } from './kit.js';
import { privateRabbit, type PrivateRabbit } from './private-rabbit.js';

/** A user of its own on the private node, so taking its permissions away touches nobody else. */
async function ownUser(rabbit: PrivateRabbit): Promise<{ name: string; url: string; revoke(): Promise<void>; grant(): Promise<void> }> {
  const name = `u-${randomUUID().slice(0, 8)}`;
  const password = `p-${randomUUID().slice(0, 8)}`;
  await rabbit.ctl('add_user', name, password);
  const grant = async () => void (await rabbit.ctl('set_permissions', '-p', '/', name, '.*', '.*', '.*'));
  await grant();
  return {
    name,
    url: `amqp://${name}:${password}@127.0.0.1:${rabbit.port}`,
    grant,
    // Permissions apply at connection open: close what is open, so the next open is refused.
    revoke: async () => {
      await rabbit.ctl('clear_permissions', '-p', '/', name);
      await rabbit.ctl('close_all_user_connections', name, 'permissions revoked by the fault suite');
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reconnection refused for a while (private node: permissions cleared, then restored)', () => {
  let rabbit: PrivateRabbit;
  before(async () => {
    rabbit = await privateRabbit();
  });

  it('a worker keeps retrying through 3 s of refusals, comes back and drains its queue', async () => {
    const user = await ownUser(rabbit);
    const s = setup(rabbit, 'refused', {}, user.url);
    const w = await startWorker(s, ['-c', '4']);
    const app = await client({ ...s, url: rabbit.url });
    try {
      await sendRecords(app, ['a1', 'a2', 'a3'], 0);
      await eventually(() => endedIds(s.record).size === 3, 10_000, 'first tasks');
      await user.revoke();
      await sleep(3000);
      assert.equal(w.child.exitCode, null, `the worker exited during the refusals:\n${w.output().slice(-2000)}`);
      await sendRecords(app, ['b1', 'b2', 'b3', 'b4', 'b5'], 0);
      await user.grant();
      const back = Date.now();
      await eventually(() => endedIds(s.record).size === 8, 10_000, 'tasks sent during the refusals to run');
      assert.ok(Date.now() - back < 5000, `drained ${Date.now() - back} ms after the permissions came back`);
      const refused = logLines(w.output()).filter((l) => l['msg'] === 'the broker refused the reconnection; retrying');
      assert.ok(refused.length > 0, 'the refusals were logged');
      assert.ok(!w.output().includes(user.url.split('@')[0]!.split(':')[2]!), 'no password in the logs');
    } finally {
      await terminate(w);
      await app.close();
    }
  });

  it('with brokerReconnectMaxRetries, a worker whose reconnection keeps being refused exits 1', async () => {
    const user = await ownUser(rabbit);
    const s = setup(rabbit, 'giveup', { FAULTS_RECONNECT_MAX_RETRIES: '3' }, user.url);
    const w = await startWorker(s, ['-c', '2']);
    await user.revoke();
    const code = await Promise.race([gone(w), sleep(15_000).then(() => 'still running')]);
    if (code === 'still running') await terminate(w);
    assert.equal(code, 1, `exit code after giving up:\n${w.output().slice(-2000)}`);
    const last = logLines(w.output()).find((l) => l['code'] === 'CELERYTS_BROKER_GAVE_UP');
    assert.ok(last, 'the worker logged why it exits');
  });

  it('a client that gives up rejects its pending waits with CELERYTS_BROKER_GAVE_UP', async () => {
    const user = await ownUser(rabbit);
    const s = setup(rabbit, 'client-giveup');
    const w = await startWorker(s, ['-c', '2']);
    const app = await client({ ...s, url: user.url }, { brokerReconnectMaxRetries: 2 });
    try {
      const results = await Promise.all(['c1', 'c2'].map((id) => app.sendTask<string>('faults.record', [id, 5000])));
      await user.revoke();
      const outcomes = await Promise.allSettled(results.map((r) => Promise.race([r.get(), sleep(10_000).then(() => 'hung')])));
      for (const o of outcomes) {
        assert.equal(o.status, 'rejected', `a wait ${o.status === 'fulfilled' ? `resolved with ${String(o.value)}` : ''}`);
        assert.equal((o.reason as { code?: string }).code, 'CELERYTS_BROKER_GAVE_UP');
      }
    } finally {
      await terminate(w);
      await app.close().catch(() => undefined);
    }
  });
});

describe('rpc results across a broker outage (private node)', () => {
  let rabbit: PrivateRabbit;
  let app: App | undefined;
  before(async () => {
    rabbit = await privateRabbit();
  });
  after(() => app?.close());

  it('500 calls, the client cut off for 4 s mid-way while the worker goes on: every result arrives', async () => {
    const user = await ownUser(rabbit);
    const s = setup(rabbit, 'rpc-outage');
    const w = await startWorker(s, ['-c', '8']);
    app = await client({ ...s, url: user.url });
    try {
      const ids = Array.from({ length: 500 }, (_, i) => `r${i}`);
      // 100 ms each on 8 slots: about 6 s of work.
      const results = await Promise.all(ids.map((id) => app!.sendTask<string>('faults.record', [id, 100])));
      await eventually(() => endedIds(s.record).size >= 40, 20_000, 'the first tasks ran');
      // The client's connection is closed and refused for 4 s; the worker keeps sending results.
      await user.revoke();
      const atCut = endedIds(s.record).size;
      await sleep(4000);
      const ranMeanwhile = endedIds(s.record).size - atCut;
      await user.grant();
      assert.ok(ranMeanwhile >= 100, `only ${ranMeanwhile} tasks ended while the client was away`);
      const values = await Promise.allSettled(results.map((r) => r.get({ timeout: 60 })));
      const failed = values.flatMap((v, i) => (v.status === 'rejected' ? [`${ids[i]}: ${(v.reason as Error).message}`] : []));
      assert.deepEqual(failed.slice(0, 3), [], `${failed.length} of 500 results did not arrive`);
      assert.deepEqual(
        values.map((v) => (v.status === 'fulfilled' ? v.value : undefined)),
        ids,
      );
    } finally {
      await terminate(w);
    }
  });

  it('a reply queue that expired while the client was away: its waits reject with CELERYTS_RESULT_LOST', async () => {
    const user = await ownUser(rabbit);
    const s = setup(rabbit, 'rpc-lost');
    const w = await startWorker(s, ['-c', '4']);
    const lost = await client({ ...s, url: user.url }, { rpcReplyQueueExpires: 1 });
    try {
      // Long enough to still be running when the client's connection is gone (rabbitmqctl takes a second or two).
      const results = await Promise.all(['l1', 'l2', 'l3'].map((id) => lost.sendTask<string>('faults.record', [id, 5000])));
      await user.revoke(); // the client cannot come back; its queue expires 1 s later
      assert.equal(endedIds(s.record).size, 0, 'the tasks ended before the client was cut off');
      await eventually(() => endedIds(s.record).size === 3, 10_000, 'the tasks to finish (their results are dropped)');
      await sleep(1500);
      await user.grant();
      const outcomes = await Promise.allSettled(results.map((r) => Promise.race([r.get(), sleep(15_000).then(() => 'hung')])));
      for (const o of outcomes) {
        assert.equal(o.status, 'rejected', `a wait ${o.status === 'fulfilled' ? `resolved with ${String(o.value)}` : ''}`);
        assert.equal((o.reason as { code?: string }).code, 'CELERYTS_RESULT_LOST');
      }
      // The client works again afterwards: a new call gets its result.
      const again = await lost.sendTask<string>('faults.record', ['l4', 0]);
      assert.equal(await again.get({ timeout: 10 }), 'l4');
    } finally {
      await terminate(w);
      await lost.close();
    }
  });
});
