/**
 * `celeryts dashboard` over HTTP, without a browser: the Flower-shaped API against a real
 * worker on RabbitMQ (workers, tasks, task info, send-task, revoke, control actions, queues),
 * Prometheus /metrics, read-only mode, auth, and no secret in anything it serves.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApp, Dashboard } from 'celeryts';
import { BIN, cli, E2E, eventually, startInProcess, type InProcess } from '../support/harness.js';
import { startDashboard, type TestDashboard } from '../support/dashboard.js';

const AMQP = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const QUEUE = `dash-api-${randomUUID().slice(0, 8)}`;

describe('dashboard HTTP API (Flower-shaped) on RabbitMQ', () => {
  let w: InProcess;
  let d: TestDashboard;
  const get = async (path: string, init?: RequestInit) => fetch(new URL(path, d.url), init);
  const json = async (path: string) => {
    const res = await get(path);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return (await res.json()) as any;
  };
  const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    get(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const info = async (id: string) => {
    const res = await get(`/api/task/info/${id}`);
    return res.status === 200 ? ((await res.json()) as any) : undefined;
  };

  before(async () => {
    d = await startDashboard(AMQP);
    w = await startInProcess({ brokerUrl: AMQP, config: { sendEvents: true }, queues: [QUEUE] });
    await eventually(async () => (await json('/api/workers'))[w.worker.nodeName]?.registered, 10_000, 'worker in /api/workers');
  });

  after(async () => {
    await w?.stop();
    await d?.close();
  });

  it('/api/workers answers inspect replies per worker, as Flower does', async () => {
    const workers = await json('/api/workers');
    const mine = workers[w.worker.nodeName];
    assert.equal(mine.stats.pool['max-concurrency'], 4);
    assert.ok(mine.registered.some((r: string) => r.startsWith('app.jobs.add')));
    assert.deepEqual(
      mine.active_queues.map((q: { name: string }) => q.name),
      [QUEUE],
    );
    assert.equal(typeof mine.timestamp, 'number');
    assert.equal((await json('/api/workers?status=1'))[w.worker.nodeName], true);
    assert.equal((await get('/api/workers?workername=nobody@nowhere')).status, 404);
  });

  it('send-task sends by name; the task shows in /api/tasks and /api/task/info with its result', async () => {
    const res = await post('/api/task/send-task/app.jobs.add', { args: [2, 3], queue: QUEUE });
    assert.equal(res.status, 200);
    const id = ((await res.json()) as { 'task-id': string })['task-id'];
    const t = await eventually(async () => ((await info(id))?.state === 'SUCCESS' ? info(id) : undefined), 10_000, 'SUCCESS');
    assert.equal(t.name, 'app.jobs.add');
    assert.equal(t.result, '5');
    assert.equal(t.args, '(2, 3)');
    assert.equal(t.worker, w.worker.nodeName);
    assert.ok(t.received <= t.started && t.started <= t.succeeded);
    const tasks = await json(`/api/tasks?taskname=app.jobs.add&state=SUCCESS&workername=${encodeURIComponent(w.worker.nodeName)}`);
    assert.ok(id in tasks);
    assert.equal(tasks[id].uuid, id);
    assert.ok(!('timeline' in tasks[id]), '/api/tasks keeps Flower’s task dict');
    assert.ok((await json('/api/task/types'))['task-types'].includes('app.jobs.add'));
    assert.equal((await get(`/api/task/info/${randomUUID()}`)).status, 404);
    // rpc:// cannot answer for any task id: Flower's 503 for a backend that stores nothing.
    assert.equal((await get(`/api/task/result/${id}`)).status, 503);
  });

  it('send-task refuses bad arguments with 400', async () => {
    assert.equal((await post('/api/task/send-task/app.jobs.add', { args: 'nope' })).status, 400);
    assert.equal((await get('/api/task/send-task/app.jobs.add', { method: 'POST', body: '{not json' })).status, 400);
  });

  it('a failure keeps its exception and traceback', async () => {
    const res = await post('/api/task/send-task/app.jobs.divide', { args: [1, 0], queue: QUEUE });
    const id = ((await res.json()) as { 'task-id': string })['task-id'];
    const t = await eventually(async () => ((await info(id))?.state === 'FAILURE' ? info(id) : undefined), 10_000, 'FAILURE');
    assert.match(t.exception, /division by zero/);
    assert.match(t.traceback, /RangeError: division by zero\n\s+at /);
    assert.deepEqual(
      t.timeline.map((e: { type: string }) => e.type),
      ['task-received', 'task-started', 'task-failed'],
    );
  });

  it('revoke with terminate stops a running task', async () => {
    const r = await w.client.sendTask('app.jobs.step', ['long', 3000], {}, { queue: QUEUE });
    await eventually(async () => (await info(r.id))?.state === 'STARTED', 10_000, 'STARTED');
    const res = await get(`/api/task/revoke/${r.id}?terminate=true`, { method: 'POST' });
    assert.deepEqual(await res.json(), { message: `Revoked '${r.id}'` });
    await eventually(async () => (await info(r.id))?.state === 'REVOKED', 10_000, 'REVOKED');
    assert.equal(w.worker.active.size, 0);
  });

  it("control actions answer with Flower's messages and statuses", async () => {
    const name = encodeURIComponent(w.worker.nodeName);
    const rate = await get(`/api/task/rate-limit/app.jobs.add`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `ratelimit=5/s&workername=${name}`,
    });
    assert.deepEqual(await rate.json(), { message: 'new rate limit set successfully' });
    const other = `${QUEUE}-extra`;
    const add = await get(`/api/worker/queue/add-consumer/${name}?queue=${other}`, { method: 'POST' });
    assert.equal(add.status, 200, await add.clone().text());
    assert.match(((await add.json()) as { message: string }).message, new RegExp(other));
    await eventually(
      async () => (await json('/api/workers'))[w.worker.nodeName].active_queues.some((q: { name: string }) => q.name === other),
      5000,
      'queue added',
    );
    await eventually(async () => (await json('/api/queues/length')).active_queues.some((q: { name: string }) => q.name === other), 5000, 'queue length listed');
    const cancel = await get(`/api/worker/queue/cancel-consumer/${name}?queue=${other}`, { method: 'POST' });
    assert.equal(cancel.status, 200);
    assert.equal((await get('/api/worker/pool/grow/nobody@nowhere?n=1', { method: 'POST' })).status, 404);
    assert.equal((await get(`/api/worker/shutdown/nobody@nowhere`, { method: 'POST' })).status, 404);
  });

  it('/metrics serves Flower’s metric names in Prometheus text format', async () => {
    const res = await get('/metrics');
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0.0.4/);
    const text = await res.text();
    const node = w.worker.nodeName;
    assert.match(text, new RegExp(`^flower_events_total\\{worker="${node}",type="task-succeeded",task="app.jobs.add"\\} \\d+\\.0$`, 'm'));
    assert.match(text, new RegExp(`^flower_task_runtime_seconds_count\\{worker="${node}",task="app.jobs.add"\\} `, 'm'));
    assert.match(text, new RegExp(`^flower_worker_online\\{worker="${node}"\\} 1.0$`, 'm'));
    assert.match(text, /^# TYPE flower_worker_number_of_currently_executing_tasks gauge$/m);
    assert.equal(await (await get('/healthcheck')).text(), 'OK');
  });

  it('never serves the broker password', async () => {
    const password = new URL(AMQP).password || 'guest';
    const pages = ['/api/dashboard', '/api/workers', '/api/tasks', '/metrics', '/', '/static/app.js'];
    for (const p of pages) {
      const text = await (await get(p)).text();
      assert.ok(!text.includes(`:${password}@`), `${p} shows the broker password`);
    }
    assert.match((await json('/api/dashboard')).broker, /:\*\*\*\*@/);
  });

  it('refuses requests whose Host is not loopback when no credentials are set (DNS rebinding)', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(d.url);
      request({ host: u.hostname, port: u.port, path: '/api/workers', headers: { host: 'evil.example:80' } }, (res) => resolve(res.statusCode ?? 0))
        .on('error', reject)
        .end();
    });
    assert.equal(status, 403);
  });

  it('read-only mode refuses every action and tells the page', async () => {
    const ro = await startDashboard(AMQP, { readOnly: true, enableEvents: false });
    try {
      const r = await fetch(new URL('/api/task/revoke/abc', ro.url), { method: 'POST' });
      assert.equal(r.status, 403);
      const s = await fetch(new URL('/api/task/send-task/app.jobs.add', ro.url), { method: 'POST', body: '{"args":[1,2]}' });
      assert.equal(s.status, 403);
      assert.equal(((await (await fetch(new URL('/api/dashboard', ro.url))).json()) as { readOnly: boolean }).readOnly, true);
      assert.equal((await fetch(new URL('/api/tasks', ro.url))).status, 200);
    } finally {
      await ro.close();
    }
  });

  it('with a token or basic auth, refuses requests without them', async () => {
    const locked = await startDashboard(AMQP, { token: 'tok-123', basicAuth: ['ann:pw'], enableEvents: false });
    try {
      const at = (p: string, headers: Record<string, string> = {}) => fetch(new URL(p, locked.url), { headers, redirect: 'manual' });
      for (const p of ['/api/workers', '/api/tasks', '/metrics', '/events']) assert.equal((await at(p)).status, 401, p);
      assert.match((await at('/api/workers')).headers.get('www-authenticate') ?? '', /^Basic /);
      assert.equal((await at('/api/workers', { authorization: 'Bearer tok-123' })).status, 200);
      assert.equal((await at('/api/workers', { authorization: 'Bearer wrong' })).status, 401);
      assert.equal((await at('/api/workers', { authorization: `Basic ${Buffer.from('ann:pw').toString('base64')}` })).status, 200);
      const viaLink = await at('/?token=tok-123');
      assert.equal(viaLink.status, 303);
      const cookie = (viaLink.headers.get('set-cookie') ?? '').split(';')[0]!;
      assert.equal((await at('/api/workers', { cookie })).status, 200);
      assert.equal((await at('/healthcheck')).status, 200);
    } finally {
      await locked.close();
    }
  });

  it('celeryts dashboard serves until SIGTERM, then exits 0', async () => {
    const child = spawn(process.execPath, [BIN, 'dashboard', '--port', '0', '--read-only', '--max-tasks', '50'], {
      cwd: E2E,
      env: { ...process.env, CELERYTS_BROKER_URL: AMQP },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = ''; // logs: stderr (stdout in older builds)
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    child.stdout!.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const url = await eventually(() => /dashboard listening on (http:\/\/127\.0\.0\.1:\d+\/) \(read-only\)/.exec(err)?.[1], 15_000, 'listening');
      const snapshot = (await (await fetch(new URL('/api/dashboard', url))).json()) as { readOnly: boolean; maxTasks: number };
      assert.deepEqual([snapshot.readOnly, snapshot.maxTasks], [true, 50]);
      assert.ok(!err.includes(`:${new URL(AMQP).password || 'guest'}@`), 'no password in the logs');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, err);
  });

  it('refuses to listen beyond loopback without credentials', async () => {
    const app = await createApp({ cwd: E2E, brokerUrl: AMQP, logLevel: 'silent', setAsCurrent: false });
    try {
      await assert.rejects(new Dashboard(app, { port: 0, address: '0.0.0.0' }).start(), { code: 'CELERYTS_CONFIG', message: /without credentials/ });
    } finally {
      await app.close();
    }
    const r = cli(['dashboard', '--address', '0.0.0.0', '--port', '0'], { cwd: E2E, env: { CELERYTS_BROKER_URL: AMQP } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /CELERYTS_CONFIG.*without credentials/);
  });
});
