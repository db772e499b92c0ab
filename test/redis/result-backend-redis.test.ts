/**
 * The Redis result backend (redis://) beyond the worker suite: results read by id from other
 * processes and from the CLI, Celery 5's stored format, expiry, a stored SUCCESS never
 * overwritten, and a clear error when Redis cannot be reached.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createApp, ResultBackendError, TaskFailedError, TaskRevokedError } from 'celeryts';
import { cli, E2E, startInProcess, tempBrokerUrl, type InProcess } from '../support/harness.js';
import { REPO, testRedisUrl } from '../support/helpers.js';

/** Run a reader process to completion; its stdout lines as JSON. */
function readInOtherProcess(id: string, times: number, env: NodeJS.ProcessEnv): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(E2E, 'read-result.ts'), id, String(times)], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`reader exited ${code}: ${err}`));
      else
        resolve(
          out
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as Record<string, unknown>),
        );
    });
  });
}

describe('Redis result backend (file broker, redis:// results)', () => {
  const backend = testRedisUrl();
  const brokerUrl = tempBrokerUrl();
  let w: InProcess;
  let redis: Redis;
  const env = { CELERYTS_RESULT_BACKEND: backend, CELERYTS_BROKER_URL: brokerUrl };

  before(async () => {
    w = await startInProcess({ brokerUrl, config: { resultBackend: backend, defaultQueue: `rb.${randomUUID().slice(0, 8)}`, resultExpires: 600 } });
    redis = new Redis(backend);
  });
  after(async () => {
    redis.disconnect();
    await w.stop();
  });

  it('a task sent from this process is read by id from two other processes, twice each', async () => {
    const r = await w.client.sendTask<number>('app.jobs.add', [40, 2]);
    const reads = await Promise.all([readInOtherProcess(r.id, 2, env), readInOtherProcess(r.id, 2, env)]);
    const pids = new Set<unknown>();
    for (const lines of reads) {
      assert.equal(lines.length, 2);
      for (const l of lines) {
        assert.deepEqual({ state: l['state'], value: l['value'] }, { state: 'SUCCESS', value: 42 });
        pids.add(l['pid']);
      }
    }
    assert.equal(pids.size, 2, 'two reader processes');
    assert.ok(!pids.has(process.pid));
    assert.equal(await r.get({ timeout: 5 }), 42, 'the sender still reads it');
  });

  it('a thousand concurrent waits share one subscriber connection and all resolve', async () => {
    const subscribers = async () =>
      String(await redis.client('LIST'))
        .split('\n')
        .filter((l) => / name=celeryts-results-sub /.test(l)).length;
    const reader = await createApp({ cwd: E2E, brokerUrl, resultBackend: backend, logLevel: 'silent', setAsCurrent: false });
    try {
      const before = await subscribers();
      // Waits first (by id, before the tasks exist), so every one of them is pending.
      const ids = Array.from({ length: 1000 }, () => randomUUID());
      const handles = await Promise.all(ids.map((id) => reader.asyncResult<number>(id)));
      const values = Promise.all(handles.map((h) => h.get({ timeout: 60 })));
      await new Promise((r) => setTimeout(r, 200));
      assert.equal((await subscribers()) - before, 1, 'one subscriber connection for every wait of the process');
      await Promise.all(ids.map((taskId, i) => w.client.sendTask('app.jobs.add', [i, 1], {}, { taskId })));
      assert.deepEqual(
        await values,
        Array.from({ length: 1000 }, (_, i) => i + 1),
      );
    } finally {
      await reader.close();
    }
  });

  it("stores Celery 5's format under celery-task-meta-<id> with the configured expiry", async () => {
    const r = await w.client.sendTask('app.jobs.divide', [1, 0]);
    await r.get({ timeout: 10, propagate: false });
    const key = `celery-task-meta-${r.id}`;
    const meta = JSON.parse((await redis.get(key))!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(meta), ['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    assert.equal(meta['status'], 'FAILURE');
    assert.deepEqual(meta['result'], { exc_type: 'RangeError', exc_message: ['division by zero'], exc_module: 'builtins' });
    assert.match(String(meta['traceback']), /RangeError: division by zero/);
    assert.match(String(meta['date_done']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/, "Python's naive utcnow().isoformat()");
    assert.equal(meta['task_id'], r.id);
    const ttl = await redis.ttl(key);
    assert.ok(ttl > 590 && ttl <= 600, `resultExpires 600 gives a TTL of 600 s, got ${ttl}`);
  });

  it('never overwrites a stored SUCCESS (a late duplicate cannot undo it)', async () => {
    const r = await w.client.sendTask('app.jobs.add', [1, 2]);
    assert.equal(await r.get({ timeout: 10 }), 3);
    const b = await w.client.backend();
    await b.markState({ id: r.id, replyTo: null, correlationId: r.id }, 'FAILURE', { exc_type: 'Late', exc_message: [], exc_module: 'builtins' });
    const again = await w.client.asyncResult(r.id);
    assert.equal(again.state, 'SUCCESS');
    assert.equal(again.result, 3);
  });

  it('resultExtended stores name, args, kwargs, worker, retries and queue', async () => {
    const ext = await startInProcess({ brokerUrl, config: { resultBackend: backend, resultExtended: true, defaultQueue: `rbx.${randomUUID().slice(0, 8)}` } });
    try {
      const r = await ext.client.sendTask('app.jobs.add', [5, 6], {}, { parentId: 'p-1' });
      assert.equal(await r.get({ timeout: 10 }), 11);
      const meta = JSON.parse((await redis.get(`celery-task-meta-${r.id}`))!) as Record<string, unknown>;
      assert.equal(meta['name'], 'app.jobs.add');
      assert.deepEqual(meta['args'], [5, 6]);
      assert.deepEqual(meta['kwargs'], {});
      assert.equal(meta['worker'], ext.worker.nodeName);
      assert.equal(meta['retries'], 0);
      assert.equal(meta['queue'], ext.worker.queues[0]);
      assert.equal(meta['parent_id'], 'p-1');
      assert.equal((await ext.client.asyncResult(r.id)).parent?.id, 'p-1');
    } finally {
      await ext.stop();
    }
  });

  it('celeryts result <id> prints the value, --traceback a failure, --json everything; rpc:// explains itself', async () => {
    const ok = await w.client.sendTask('app.jobs.add', [2, 3]);
    const bad = await w.client.sendTask('app.jobs.divide', [1, 0]);
    await ok.get({ timeout: 10 });
    await bad.get({ timeout: 10, propagate: false });
    const opts = { cwd: E2E, env };
    const a = cli(['result', ok.id], opts);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, '5\n');
    const b = cli(['result', bad.id, '--traceback'], opts);
    assert.equal(b.status, 1);
    assert.match(b.stdout, /RangeError: division by zero/);
    const c = cli(['result', bad.id, '--json'], opts);
    const j = JSON.parse(c.stdout) as Record<string, unknown>;
    assert.equal(j['status'], 'FAILURE');
    assert.equal(j['task_id'], bad.id);
    const pending = cli(['result', randomUUID(), '--no-wait'], opts);
    assert.equal(pending.status, 0);
    assert.equal(pending.stdout, 'PENDING\n', 'an unknown id is PENDING, as in Celery');
    const rpc = cli(['result', ok.id, '--result-backend', 'rpc://'], opts);
    assert.equal(rpc.status, 1);
    assert.match(rpc.stderr, /CELERYTS_RESULT_UNAVAILABLE.*redis:\/\//s);
  });

  it('a Redis that cannot be reached: lookups fail with CELERYTS_RESULT_BACKEND naming the masked URL', async () => {
    const app = await createApp({ cwd: E2E, resultBackend: 'redis://:S3cretPw@127.0.0.1:1/0', logLevel: 'silent', setAsCurrent: false });
    try {
      const err = await app.asyncResult(randomUUID()).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof ResultBackendError, String(err));
      assert.match(err.message, /redis:\/\/:\*\*\*\*@127\.0\.0\.1:1\/0/);
      assert.doesNotMatch(err.message, /S3cretPw/);
    } finally {
      await app.close();
    }
  });

  it('revoke() on a handle read by id in another client: the task is skipped and reads REVOKED', async () => {
    const r = await w.client.sendTask('app.jobs.add', [1, 1], {}, { countdown: 1.5 });
    const other = await createApp({ cwd: E2E, brokerUrl, resultBackend: backend, logLevel: 'silent', setAsCurrent: false });
    try {
      await (await other.asyncResult(r.id)).revoke();
      await assert.rejects(r.get({ timeout: 10 }), TaskRevokedError);
      assert.equal((await other.asyncResult(r.id)).state, 'REVOKED');
    } finally {
      await other.close();
    }
  });

  it('get({ interval }) re-reads the stored state while waiting (a result stored without a publish is found)', async () => {
    const id = randomUUID();
    const handle = await w.client.asyncResult<number>(id);
    const got = handle.get({ timeout: 5, interval: 0.1 });
    await new Promise((r) => setTimeout(r, 300));
    // Written the way a store that does not publish would: only SET.
    await redis.set(
      `celery-task-meta-${id}`,
      JSON.stringify({ status: 'SUCCESS', result: 7, traceback: null, children: [], date_done: null, task_id: id }),
      'EX',
      60,
    );
    assert.equal(await got, 7);
  });

  it('a failed task read by id rejects with TaskFailedError', async () => {
    const bad = await w.client.sendTask('app.jobs.divide', [2, 0]);
    const other = await createApp({ cwd: E2E, brokerUrl, resultBackend: backend, logLevel: 'silent', setAsCurrent: false });
    try {
      await assert.rejects((await other.asyncResult(bad.id)).get({ timeout: 10 }), TaskFailedError);
    } finally {
      await other.close();
    }
  });
});
