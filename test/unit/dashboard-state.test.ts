/**
 * The dashboard's model without a broker: tasks from events (Flower's fields, bounded memory,
 * late events), worker liveness, chart buckets, Flower's Prometheus metrics, secret scrubbing,
 * and the auth checks.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { validateUserConfig } from '../../src/config/schema.js';
import { Auth } from '../../src/dashboard/auth.js';
import { FlowerMetrics } from '../../src/dashboard/prometheus.js';
import { backendStoresResults, lookupResult } from '../../src/dashboard/result-lookup.js';
import { scrub } from '../../src/dashboard/scrub.js';
import { percentile, TaskSeries } from '../../src/dashboard/series.js';
import { TaskStore } from '../../src/dashboard/task-store.js';
import { WorkerStore } from '../../src/dashboard/worker-store.js';

const ev = (type: string, fields: Record<string, unknown> = {}) => ({ type, timestamp: 1000, hostname: 'w1@h', ...fields });

describe('dashboard task store', () => {
  it('builds a task from its events with Flower fields, and keeps its timeline', () => {
    const store = new TaskStore();
    store.apply(ev('task-received', { uuid: 'a', name: 'proj.add', args: '(1, 2)', kwargs: '{}', retries: 0, timestamp: 10 }));
    store.apply(ev('task-started', { uuid: 'a', timestamp: 11 }));
    store.apply(ev('task-failed', { uuid: 'a', exception: "ValueError('x')", traceback: 'Traceback...', timestamp: 12 }));
    const t = store.get('a')!;
    assert.equal(t.state, 'FAILURE');
    assert.equal(t.name, 'proj.add');
    assert.equal(t.worker, 'w1@h');
    assert.deepEqual([t.received, t.started, t.failed], [10, 11, 12]);
    assert.equal(t.traceback, 'Traceback...');
    assert.deepEqual(
      t.timeline.map((e) => e.type),
      ['task-received', 'task-started', 'task-failed'],
    );
    assert.deepEqual(t.timeline[2]!.detail, { exception: "ValueError('x')" });
  });

  it("a client's late task-sent does not undo the worker's state, and names the client", () => {
    const store = new TaskStore();
    store.apply(ev('task-succeeded', { uuid: 'a', result: '3', runtime: 0.5, timestamp: 20 }));
    store.apply(ev('task-sent', { uuid: 'a', name: 'proj.add', hostname: 'gen1@client', timestamp: 19 }));
    const t = store.get('a')!;
    assert.equal(t.state, 'SUCCESS');
    assert.equal(t.worker, 'w1@h');
    assert.equal(t.client, 'gen1@client');
    assert.equal(t.name, 'proj.add');
  });

  it('keeps only the last maxTasks tasks and counts the forgotten ones', () => {
    const store = new TaskStore(3);
    for (const id of ['a', 'b', 'c', 'd', 'e']) store.apply(ev('task-received', { uuid: id }));
    store.apply(ev('task-started', { uuid: 'c' })); // c becomes the most recent
    assert.equal(store.size, 3);
    assert.equal(store.forgotten, 2);
    assert.deepEqual(
      store.query().map((t) => t.uuid),
      ['c', 'e', 'd'],
    );
  });

  it("filters and pages like Flower's /api/tasks", () => {
    const store = new TaskStore();
    store.apply(ev('task-received', { uuid: 'a', name: 'x', timestamp: 100 }));
    store.apply(ev('task-received', { uuid: 'b', name: 'y', timestamp: 200, hostname: 'w2@h' }));
    store.apply(ev('task-succeeded', { uuid: 'b', timestamp: 201, hostname: 'w2@h' }));
    store.apply(ev('task-received', { uuid: 'c', name: 'x', args: "('needle',)", timestamp: 300 }));
    const ids = (q: Parameters<TaskStore['query']>[0]) => store.query(q).map((t) => t.uuid);
    assert.deepEqual(ids({ taskname: 'x' }), ['c', 'a']);
    assert.deepEqual(ids({ state: 'SUCCESS' }), ['b']);
    assert.deepEqual(ids({ workername: 'w2@h' }), ['b']);
    assert.deepEqual(ids({ receivedStart: 150, receivedEnd: 250 }), ['b']);
    assert.deepEqual(ids({ search: 'NEEDLE' }), ['c']);
    assert.deepEqual(ids({ limit: 1, offset: 1 }), ['b']);
    assert.deepEqual(ids({ sortBy: 'received' }), ['a', 'b', 'c']);
    assert.deepEqual(ids({ sortBy: '-name' }), ['b', 'a', 'c']);
    assert.deepEqual([...store.names].sort(), ['x', 'y']);
  });
});

describe('dashboard worker store', () => {
  it('online from heartbeats, lost when they stop, offline when it says goodbye', () => {
    const ws = new WorkerStore();
    assert.deepEqual(ws.apply(ev('worker-online', { freq: 2, local_received: 100, sw_ident: 'py-celery' })), { hostname: 'w1@h', isNew: true });
    assert.equal(ws.get('w1@h', 101)!.status, 'online');
    assert.equal(ws.get('w1@h', 106)!.status, 'lost');
    assert.equal(ws.apply(ev('worker-heartbeat', { local_received: 106, active: 3, processed: 9 }))!.isNew, false);
    assert.equal(ws.get('w1@h', 107)!.status, 'online');
    assert.equal(ws.get('w1@h', 107)!.active, 3);
    ws.apply(ev('worker-offline', { local_received: 108 }));
    assert.equal(ws.get('w1@h', 108)!.status, 'offline');
  });

  it('counts failures from task events and reads pool, queues and tasks from inspect replies', () => {
    const ws = new WorkerStore();
    ws.apply(ev('worker-online', { local_received: 1 }));
    ws.apply(ev('task-failed', { uuid: 'a' }));
    ws.apply(ev('task-failed', { uuid: 'b' }));
    ws.setInspect('w1@h', 'stats', { pool: { implementation: 'celery.concurrency.prefork:TaskPool', 'max-concurrency': 8, processes: [1, 2] } });
    ws.setInspect('w1@h', 'active_queues', [{ name: 'celery' }, { name: 'video' }]);
    ws.setInspect('w1@h', 'registered', ['proj.add [rate_limit=10/s]', 'proj.mul']);
    const w = ws.get('w1@h', 2)!;
    assert.equal(w.failed, 2);
    assert.deepEqual(w.pool, { implementation: 'celery.concurrency.prefork:TaskPool', maxConcurrency: 8, processes: 2 });
    assert.deepEqual(w.queues, ['celery', 'video']);
    assert.deepEqual(w.registered, ['proj.add', 'proj.mul']);
    assert.deepEqual(
      [...ws.consumersByQueue(2)],
      [
        ['celery', 1],
        ['video', 1],
      ],
    );
    assert.deepEqual(Object.keys(ws.inspectReplies()['w1@h'] as object).sort(), ['active_queues', 'registered', 'stats', 'timestamp']);
  });
});

describe('dashboard charts', () => {
  it('buckets successes and failures with runtime percentiles, bounded in time', () => {
    const s = new TaskSeries(5, 4);
    for (let i = 1; i <= 100; i++) s.record('succeeded', 1003, i / 100);
    s.record('failed', 1007);
    s.record('succeeded', 990, 1); // older than the window: dropped with its bucket
    const pts = s.points(1012);
    assert.deepEqual(
      pts.map((p) => p.t),
      [995, 1000, 1005, 1010],
    );
    assert.deepEqual(
      pts.map((p) => [p.succeeded, p.failed]),
      [
        [0, 0],
        [100, 0],
        [0, 1],
        [0, 0],
      ],
    );
    assert.deepEqual([pts[1]!.p50, pts[1]!.p90, pts[1]!.p99], [0.5, 0.9, 0.99]);
    assert.equal(pts[2]!.p50, null);
    assert.equal(percentile([], 50), null);
  });
});

describe("dashboard Prometheus metrics (Flower's names)", () => {
  it('counts events, observes runtimes and tracks online workers', () => {
    const m = new FlowerMetrics();
    const store = new TaskStore();
    const feed = (e: ReturnType<typeof ev>) => m.observe(e, store.apply(e));
    feed(ev('worker-heartbeat', { active: 2 }));
    feed(ev('task-received', { uuid: 'a', name: 'proj.add', timestamp: 1 }));
    feed(ev('task-started', { uuid: 'a', timestamp: 1.25 }));
    feed(ev('task-succeeded', { uuid: 'a', runtime: 0.03, timestamp: 2 }));
    m.markLost('w2@h');
    const text = m.render();
    assert.match(text, /^# TYPE flower_events_total counter$/m);
    assert.match(text, /^flower_events_total\{worker="w1@h",type="task-succeeded",task="proj.add"\} 1.0$/m);
    assert.match(text, /^flower_task_runtime_seconds_bucket\{worker="w1@h",task="proj.add",le="0.025"\} 0.0$/m);
    assert.match(text, /^flower_task_runtime_seconds_bucket\{worker="w1@h",task="proj.add",le="0.05"\} 1.0$/m);
    assert.match(text, /^flower_task_runtime_seconds_count\{worker="w1@h",task="proj.add"\} 1.0$/m);
    assert.match(text, /^flower_task_prefetch_time_seconds\{worker="w1@h",task="proj.add"\} 0.0$/m);
    assert.match(text, /^flower_worker_prefetched_tasks\{worker="w1@h",task="proj.add"\} 0.0$/m);
    assert.match(text, /^flower_worker_online\{worker="w1@h"\} 1.0$/m);
    assert.match(text, /^flower_worker_online\{worker="w2@h"\} 0.0$/m);
    assert.match(text, /^flower_worker_number_of_currently_executing_tasks\{worker="w1@h"\} 2.0$/m);
  });

  it('escapes label values', () => {
    const m = new FlowerMetrics();
    m.observe(ev('worker-online', { hostname: 'a"b\\c\nd' }), undefined);
    assert.match(m.render(), /flower_worker_online\{worker="a\\"b\\\\c\\nd"\} 1.0/);
  });
});

describe('dashboard secrets and auth', () => {
  it('scrub masks URL passwords and secret-named values in worker replies', () => {
    const conf = scrub({
      broker_url: 'amqp://user:hunter2@rabbit:5672//',
      result_backend: 'redis://:s3cr3t@redis:6379/0',
      nested: [{ note: 'see amqps://u:p4ss@h/v for details' }],
      redis_password: 'pw',
      aws_secret_access_key: 'AKIA',
      task_routes: { 'a.b': { routing_key: 'kept' } },
      broker_use_ssl: true,
    });
    const text = JSON.stringify(conf);
    for (const secret of ['hunter2', 's3cr3t', 'p4ss', '"pw"', 'AKIA']) assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.ok(text.includes('amqp://user:****@rabbit:5672//'));
    assert.ok(text.includes('"routing_key":"kept"'));
    assert.ok(text.includes('"broker_use_ssl":true'));
  });

  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

  it('accepts the bearer token, a basic auth pair or the session cookie, and nothing else', () => {
    const auth = new Auth({ token: 'tok', basicAuth: ['ann:pw1'] });
    assert.equal(auth.check(req({})), false);
    assert.equal(auth.check(req({ authorization: 'Bearer tok' })), true);
    assert.equal(auth.check(req({ authorization: 'Bearer tok2' })), false);
    assert.equal(auth.check(req({ authorization: `Basic ${Buffer.from('ann:pw1').toString('base64')}` })), true);
    assert.equal(auth.check(req({ authorization: `Basic ${Buffer.from('ann:pw2').toString('base64')}` })), false);
    const cookie = auth.sessionCookie().split(';')[0]!;
    assert.equal(auth.check(req({ cookie })), true);
    assert.equal(auth.check(req({ cookie: `${cookie}x` })), false);
    assert.equal(new Auth({ token: 'tok' }).check(req({ cookie })), false, 'a cookie of another dashboard process is refused');
    assert.equal(new Auth().check(req({})), true, 'no credentials configured: open (the server binds loopback only)');
  });
});

describe('dashboard config key', () => {
  it('accepts its settings and names a wrong one', () => {
    const ok = { dashboard: { port: 8080, address: '0.0.0.0', token: 't', basicAuth: ['a:b'], readOnly: true, maxTasks: 500, enableEvents: false } };
    assert.deepEqual(validateUserConfig(ok, 'test'), ok);
    assert.throws(() => validateUserConfig({ dashboard: { prot: 1 } }, 'test'), { code: 'CELERYTS_CONFIG', message: /unknown key 'prot'/ });
    assert.throws(() => validateUserConfig({ dashboard: { basicAuth: ['nocolon'] } }, 'test'), { message: /invalid 'basicAuth'/ });
  });
});

describe('dashboard results by id (any backend that stores them)', () => {
  /** A stand-in for an App whose backend stores results (what the redis backend will be). */
  const appWith = (name: string, handle: Record<string, unknown>) =>
    ({ backend: async () => ({ name }), asyncResult: async () => handle }) as unknown as Parameters<typeof lookupResult>[0];

  it('answers state and result in Flower’s shape, and a failure with its traceback', async () => {
    const ok = appWith('redis', { state: 'SUCCESS', ready: () => true, get: async () => 5 });
    assert.equal(await backendStoresResults(ok), true);
    assert.deepEqual(await lookupResult(ok, 'id1'), { 'task-id': 'id1', state: 'SUCCESS', result: 5 });
    const failed = appWith('redis', {
      state: 'FAILURE',
      ready: () => true,
      result: { exc_type: 'ValueError', exc_message: ['boom'] },
      traceback: 'Traceback...',
      get: async () => {
        throw new Error('boom');
      },
    });
    assert.deepEqual(await lookupResult(failed, 'id2'), {
      'task-id': 'id2',
      state: 'FAILURE',
      result: { exc_type: 'ValueError', exc_message: ['boom'] },
      traceback: 'Traceback...',
    });
    const pending = appWith('redis', { state: 'PENDING', ready: () => false, get: async () => undefined });
    assert.deepEqual(await lookupResult(pending, 'id3'), { 'task-id': 'id3', state: 'PENDING' });
  });

  it('rpc and none do not store results by id', async () => {
    assert.equal(await backendStoresResults(appWith('rpc', {})), false);
    assert.equal(await backendStoresResults(appWith('none', {})), false);
  });
});
