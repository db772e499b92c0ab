/**
 * The dashboard watches Python Celery workers as Flower does: a Python worker started without
 * -E shows up from its heartbeats, the dashboard switches its task events on (enable_events),
 * and tasks sent through the Flower-shaped API show their results and Python tracebacks.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDashboard, type TestDashboard } from '../support/dashboard.js';
import { eventually } from '../support/harness.js';
import { REPO } from '../support/helpers.js';

const AMQP = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const PYDIR = path.join(REPO, 'test', 'interop', 'py');
const run = randomUUID().slice(0, 8);
const QUEUE = `dash-py-${run}`;
const NODE = `py-dash-${run}@interop`;

describe('dashboard with a Python Celery worker', () => {
  let d: TestDashboard;
  let py: ChildProcess;
  let out = '';
  const json = async (p: string, init?: RequestInit) => (await fetch(new URL(p, d.url), init)).json() as Promise<any>;
  const finished = (id: string, state: string) =>
    eventually(
      async () => {
        const res = await fetch(new URL(`/api/task/info/${id}`, d.url));
        const t = res.status === 200 ? ((await res.json()) as any) : undefined;
        return t?.state === state ? t : undefined;
      },
      15_000,
      `${id} ${state}`,
    );

  before(async () => {
    d = await startDashboard(AMQP);
    py = spawn(
      '/usr/bin/python3',
      ['-m', 'celery', '-A', 'proj', 'worker', '-Q', QUEUE, '-n', NODE, '-P', 'solo', '-l', 'INFO', '--without-mingle', '--without-gossip'],
      {
        cwd: PYDIR,
        env: { ...process.env, BROKER_URL: AMQP },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    py.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    py.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    await eventually(
      async () => {
        const w = (await json('/api/workers'))[NODE];
        return w?.registered && w.stats && w.active_queues;
      },
      30_000,
      'python worker in /api/workers',
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${out}`);
    });
  });

  after(async () => {
    if (py && py.exitCode === null) {
      py.kill('SIGTERM');
      await new Promise((r) => py.once('exit', r));
    }
    await d?.close();
  });

  it('shows the Python worker online with its pool, queue and tasks', async () => {
    const w = d.dashboard.state.workers.get(NODE)!;
    assert.equal(w.status, 'online');
    assert.equal(w.swIdent, 'py-celery');
    assert.deepEqual(w.queues, [QUEUE]);
    assert.ok(w.registered.includes('proj.tasks.add'));
    assert.equal(w.pool?.maxConcurrency, 1, 'the solo pool runs one task at a time');
  });

  it('a task sent with send-task runs there and its result shows (task events switched on by the dashboard)', async () => {
    const sent = await json('/api/task/send-task/proj.tasks.add', { method: 'POST', body: JSON.stringify({ args: [2, 3], queue: QUEUE }) });
    const t = await finished(sent['task-id'], 'SUCCESS');
    assert.equal(t.result, '5');
    assert.equal(t.worker, NODE);
  });

  it("a Python failure keeps Python's traceback", async () => {
    const sent = await json('/api/task/send-task/proj.tasks.fail', { method: 'POST', body: JSON.stringify({ args: ['boom'], queue: QUEUE }) });
    const t = await finished(sent['task-id'], 'FAILURE');
    assert.ok(t.exception, 'the exception as Celery reports it');
    assert.match(t.traceback, /^Traceback \(most recent call last\):[\s\S]*ValueError: boom/);
  });
});
