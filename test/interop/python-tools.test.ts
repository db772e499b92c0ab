/**
 * Python's tools against a celeryts worker on RabbitMQ (issue 12): what Flower, `celery inspect`,
 * `celery control` and `app.control.*` send, a celeryts worker understands and answers as a
 * Python worker would.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApp } from 'celeryts';
import { eventually, spawnWorker, type WorkerProcess } from '../support/harness.js';
import { REPO } from '../support/helpers.js';
import { PY, PYDIR, python, spawnPythonWorker, type PythonWorker } from '../support/interop-suite.js';

const BROKER = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672//';
const run = randomUUID().slice(0, 8);
const env = { CELERYTS_BROKER_URL: BROKER, BROKER_URL: BROKER };

/** Run a Python helper script and parse the JSON line it prints last. */
function pyJson<T>(args: string[]): T {
  const r = python(BROKER, args);
  assert.equal(r.status, 0, `${args.join(' ')}:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

/** One control request from Python's control client to `node`; its reply. */
function reply<T = unknown>(method: string, node: string, args: Record<string, unknown> = {}): T {
  const r = pyJson<{ reply?: T; replied?: false }>(['broadcast.py', method, node, JSON.stringify(args)]);
  assert.ok('reply' in r, `${node} did not reply to ${method}`);
  return r.reply as T;
}

/** Python's event receiver (Flower's), printing the events of one worker as JSON lines. */
class PyEvents {
  readonly child: ChildProcess;
  readonly events: { type: string; [k: string]: unknown }[] = [];
  #out = '';
  #err = '';
  constructor(hostname: string) {
    this.child = spawn(PY, ['events_receiver.py', hostname], { cwd: PYDIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      const lines = (this.#out + d.toString()).split('\n');
      this.#out = lines.pop()!;
      for (const l of lines) this.events.push(JSON.parse(l) as { type: string });
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.#err += d.toString()));
  }
  async ready(): Promise<void> {
    await eventually(() => this.events.some((e) => e['ready'] === true), 20_000, `python event receiver: ${this.#err}`);
  }
  of(type: string) {
    return this.events.filter((e) => e.type === type);
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await new Promise((r) => this.child.once('exit', r));
  }
}

describe('Python tools drive a celeryts worker started without -E (RabbitMQ)', () => {
  const queue = `pytools.${run}`;
  const node = `ts-pytools-${run}@interop`;
  let worker: WorkerProcess;
  let receiver: PyEvents;
  before(async () => {
    receiver = new PyEvents(node);
    await receiver.ready();
    worker = await spawnWorker(['-Q', queue, '-n', node], { env });
  });
  after(async () => {
    if (worker.child.exitCode === null) worker.child.kill('SIGTERM');
    await worker.exited;
    await receiver.stop();
  });

  it("a Python event receiver sees the worker's worker-online and heartbeats, but no task events", async () => {
    await eventually(() => receiver.of('worker-online').length && receiver.of('worker-heartbeat').length, 10_000, 'worker-online and a heartbeat');
    const client = await createApp({ brokerUrl: BROKER, logLevel: 'silent', setAsCurrent: false });
    try {
      assert.equal(await (await client.sendTask('proj.tasks.add', [1, 2], {}, { queue })).get({ timeout: 10 }), 3);
    } finally {
      await client.close();
    }
    const beats = receiver.of('worker-heartbeat').length;
    await eventually(() => receiver.of('worker-heartbeat').length > beats, 5000, 'a heartbeat after the task');
    assert.deepEqual(
      receiver.events.filter((e) => e.type?.startsWith('task-')),
      [],
    );
    assert.equal(receiver.of('worker-online')[0]!['sw_ident'], 'celeryts');
  });

  it('app.control.revoke(id, terminate=1) terminates the running task: the Python caller sees REVOKED at once', () => {
    const o = pyJson<{ state: string; exc_type?: string; after: number; error?: string }>(['revoke_running.py', queue, node, '20']);
    assert.equal(o.state, 'REVOKED', JSON.stringify(o));
    assert.equal(o.exc_type, 'TaskRevokedError');
    assert.ok(o.after < 5, `revoked after ${o.after}s`);
  });

  // Last: it stops the worker.
  it('worker-offline reaches Python when the worker stops', async () => {
    worker.child.kill('SIGTERM');
    await worker.exited;
    await eventually(() => receiver.of('worker-offline').length, 5000, 'worker-offline');
  });
});

describe("Celery's remote-control commands: a celeryts worker answers as a Python worker does (RabbitMQ)", () => {
  const queue = `pytools.cmd.${run}`;
  const tsNode = `ts-cmd-${run}@interop`;
  const scaledNode = `ts-scaled-${run}@interop`;
  const pyNode = `py-cmd-${run}@interop`;
  let worker: WorkerProcess;
  let scaled: WorkerProcess;
  let py: PythonWorker;
  const reply = (method: string, node: string, args: Record<string, unknown> = {}) =>
    pyJson<{ reply?: unknown; replied?: false }>(['broadcast.py', method, node, JSON.stringify(args)]);
  const celery = (...args: string[]) => python(BROKER, ['-m', 'celery', '-A', 'proj', ...args, '-t', '5']);
  const stats = (node: string) => reply('stats', node).reply as { pool: { 'max-concurrency': number }; autoscaler?: Record<string, number> };

  before(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pytools-'));
    const config = path.join(dir, 'celeryts.config.json');
    writeFileSync(config, JSON.stringify({ root: path.join(REPO, 'tasks-example'), imports: ['proj.tasks'], autoscaleKeepalive: 1 }));
    [worker, scaled, py] = await Promise.all([
      spawnWorker(['-Q', queue, '-n', tsNode, '-c', '2'], { env }),
      spawnWorker(['--config', config, '-Q', `${queue}.scaled`, '-n', scaledNode, '--autoscale', '3,1'], { env }),
      spawnPythonWorker(BROKER, pyNode, `${queue}.py`, ['-P', 'prefork', '-c', '1']),
    ]);
  });
  after(async () => {
    worker.child.kill('SIGTERM');
    scaled.child.kill('SIGTERM');
    await Promise.all([worker.exited, scaled.exited, py.stop()]);
  });

  it('time_limit, heartbeat, pool_grow, pool_shrink, autoscale (not enabled) and pool_restart reply exactly as a Python worker', () => {
    const cases: [string, Record<string, unknown>][] = [
      ['time_limit', { task_name: 'proj.tasks.add', soft: 30.0, hard: 60.0 }],
      ['time_limit', { task_name: 'proj.tasks.nope', soft: 1.0 }],
      ['heartbeat', {}],
      ['pool_grow', { n: 1 }],
      ['pool_shrink', { n: 1 }],
      ['autoscale', { max: 4, min: 2 }],
    ];
    for (const [method, args] of cases) {
      assert.deepEqual(reply(method, tsNode, args), reply(method, pyNode, args), `${method} ${JSON.stringify(args)}`);
    }
    const restart = (node: string) => (reply('pool_restart', node).reply as { error: string }).error;
    assert.equal(restart(pyNode), "ValueError('Pool restarts not enabled')");
    assert.ok(restart(tsNode).startsWith("ValueError('Pool restarts not enabled')"), restart(tsNode));
  });

  it('inspect conf, clock, report, memsample and memdump have the shapes of a Python worker, conf without secrets', () => {
    const conf = reply('conf', tsNode).reply as Record<string, unknown>;
    const pyConf = reply('conf', pyNode).reply as Record<string, unknown>;
    assert.equal(typeof pyConf['broker_url'], 'string');
    assert.match(String(conf['brokerUrl']), /^amqp:\/\/guest:\*+@127\.0\.0\.1:5672/);
    assert.doesNotMatch(JSON.stringify(conf), /guest:guest/);
    assert.ok(Object.keys(reply('conf', tsNode, { with_defaults: true }).reply as object).includes('prefetchMultiplier'));
    for (const node of [tsNode, pyNode]) {
      const clock = reply('clock', node).reply as { clock: number };
      assert.deepEqual(Object.keys(clock), ['clock'], node);
      assert.ok(Number.isInteger(clock.clock) && clock.clock > 0, `${node}: ${JSON.stringify(clock)}`);
    }
    assert.match((reply('report', tsNode).reply as { ok: string }).ok, /^software -> celeryts:/);
    assert.equal(typeof (reply('report', pyNode).reply as { ok: string }).ok, 'string');
    assert.match(String(reply('memsample', tsNode).reply), /^\d+(\.\d+)?MB$/);
    assert.match(String(reply('memdump', tsNode).reply), /^- rss \(sample\):\n- {4}> \d+(\.\d+)?MB,\n- rss \(end\): \d+(\.\d+)?MB\.\n$/);
    assert.match((reply('objgraph', tsNode).reply as { error: string }).error, /objgraph is not available/);
  });

  it("Python's CLI: celery inspect conf|clock|report and celery control time_limit|pool_grow|pool_shrink|heartbeat answer OK", () => {
    for (const args of [
      ['inspect', 'conf'],
      ['inspect', 'clock'],
      ['inspect', 'report'],
      ['control', 'time_limit', 'proj.tasks.add', '30', '60'],
      ['control', 'pool_grow', '1'],
      ['control', 'pool_shrink', '1'],
      ['control', 'heartbeat'],
    ]) {
      const r = celery(...args, '-d', tsNode);
      assert.equal(r.status, 0, `celery ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`->  ${tsNode}: OK`), args.join(' '));
    }
    const auto = celery('control', 'autoscale', '4', '2', '-d', scaledNode);
    assert.equal(auto.status, 0, auto.stderr);
    assert.match(auto.stdout, /autoscale now max=4 min=2/);
    assert.match(celery('control', 'autoscale', '3', '1', '-d', scaledNode).stdout, /autoscale now max=3 min=1/);
  });

  it('time_limit takes effect: a task past the new hard limit fails with TimeLimitExceeded for its Python caller', () => {
    assert.match(celery('control', 'time_limit', 'proj.tasks.sleep', '0.3', '0.5', '-d', tsNode).stdout, /time limits set successfully/);
    const o = pyJson<{ status: string; exc_type?: string }>(['client.py', JSON.stringify({ task: 'proj.tasks.sleep', args: [5], queue, timeout: 10 })]);
    assert.equal(o.status, 'FAILURE');
    assert.equal(o.exc_type, 'TimeLimitExceeded');
  });

  it('pool_grow and pool_shrink change how many tasks run at once (inspect stats max-concurrency)', () => {
    assert.equal(stats(tsNode).pool['max-concurrency'], 2);
    reply('pool_grow', tsNode, { n: 3 });
    assert.equal(stats(tsNode).pool['max-concurrency'], 5);
    reply('pool_shrink', tsNode, { n: 4 });
    assert.equal(stats(tsNode).pool['max-concurrency'], 1);
  });

  it('--autoscale 3,1 grows the pool to the load and shrinks it back when idle', async () => {
    assert.deepEqual(stats(scaledNode).autoscaler, { max: 3, min: 1, current: 1, qty: 0 });
    assert.match((reply('pool_grow', scaledNode).reply as { error: string }).error, /not supported with autoscale/);
    const client = await createApp({ brokerUrl: BROKER, logLevel: 'silent', setAsCurrent: false });
    try {
      const started = Date.now();
      const results = await Promise.all([1, 2, 3].map(() => client.sendTask('proj.tasks.sleep', [2], {}, { queue: `${queue}.scaled` })));
      await eventually(() => stats(scaledNode).pool['max-concurrency'] === 3, 5000, 'the pool grown to 3');
      await Promise.all(results.map((r) => r.get({ timeout: 15 })));
      // Three 2 s tasks on a pool that grew: about 2-3 s, not the 6 s one slot would take.
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
      await eventually(() => stats(scaledNode).pool['max-concurrency'] === 1, 8000, 'the pool shrunk back to 1');
    } finally {
      await client.close();
    }
  });
});

describe('tasks parked in the broker (far eta) are visible to Python tools (RabbitMQ)', () => {
  const queue = `pytools.parked.${run}`;
  const node = `ts-parked-${run}@interop`;
  let worker: WorkerProcess;
  let receiver: PyEvents;
  before(async () => {
    receiver = new PyEvents(node);
    await receiver.ready();
    worker = await spawnWorker(['-E', '-Q', queue, '-n', node], { env });
  });
  after(async () => {
    worker.child.kill('SIGTERM');
    await worker.exited;
    await receiver.stop();
  });

  it('inspect scheduled lists them with eta and request; task-received names them at once; a revoked one ends REVOKED with task-revoked', async () => {
    const client = await createApp({ brokerUrl: BROKER, logLevel: 'silent', setAsCurrent: false });
    try {
      const sentAt = Date.now();
      const kept = await client.sendTask('proj.tasks.add', [2, 3], {}, { queue, countdown: 8 });
      const dropped = await client.sendTask('proj.tasks.add', [4, 5], {}, { queue, countdown: 8 });
      type Scheduled = { eta: string; priority: number; request: { id: string; name: string; args: unknown[] } };
      const scheduled = (await eventually(
        () => {
          const r = reply<Scheduled[]>('scheduled', node);
          return r.length === 2 ? r : undefined;
        },
        5000,
        'both tasks in inspect scheduled',
      ))!;
      assert.ok(Date.now() - sentAt < 6000, 'listed while parked, long before the eta');
      const byId = new Map(scheduled.map((s) => [s.request.id, s]));
      assert.deepEqual([byId.get(kept.id)?.request.name, byId.get(kept.id)?.request.args, byId.get(kept.id)?.priority], ['proj.tasks.add', [2, 3], 6]);
      assert.ok(Math.abs(Date.parse(byId.get(kept.id)!.eta) - (sentAt + 8000)) < 2000, byId.get(kept.id)!.eta);
      const received = (await eventually(() => receiver.of('task-received').find((e) => e['uuid'] === kept.id), 3000, 'task-received'))!;
      assert.ok(Date.now() - sentAt < 6000, 'task-received sent when the task was parked, long before the eta');
      assert.deepEqual([received['name'], received['args'], received['kwargs'], typeof received['eta']], ['proj.tasks.add', '(2, 3)', '{}', 'string']);
      assert.deepEqual(reply<Record<string, [string, { name: string }]>>('query_task', node, { ids: [kept.id] })[kept.id]?.[0], 'reserved');

      assert.match(JSON.stringify(reply('revoke', node, { task_id: dropped.id })), /flagged as revoked/);
      assert.equal(await kept.get({ timeout: 20 }), 5);
      await assert.rejects(dropped.get({ timeout: 20 }), /REVOKED|revoked/i);
      await eventually(() => receiver.of('task-revoked').some((e) => e['uuid'] === dropped.id), 5000, 'task-revoked');
      assert.equal(receiver.of('task-received').filter((e) => e['uuid'] === kept.id).length, 1, 'received once, not again when it came back');
      assert.deepEqual(reply<Scheduled[]>('scheduled', node), []);
    } finally {
      await client.close();
    }
  });
});
