/**
 * Python's tools against a celeryts worker on RabbitMQ (issue 12): what Flower, `celery inspect`,
 * `celery control` and `app.control.*` send, a celeryts worker understands and answers as a
 * Python worker would.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApp } from 'celeryts';
import { eventually, spawnWorker, type WorkerProcess } from '../support/harness.js';
import { PY, PYDIR, python } from '../support/interop-suite.js';

const BROKER = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672//';
const run = randomUUID().slice(0, 8);
const env = { CELERYTS_BROKER_URL: BROKER, BROKER_URL: BROKER };

/** Run a Python helper script and parse the JSON line it prints last. */
function pyJson<T>(args: string[]): T {
  const r = python(BROKER, args);
  assert.equal(r.status, 0, `${args.join(' ')}:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
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
