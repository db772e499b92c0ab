/**
 * Python's tools against a celeryts worker on RabbitMQ (issue 12): what Flower, `celery inspect`,
 * `celery control` and `app.control.*` send, a celeryts worker understands and answers as a
 * Python worker would.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { spawnWorker, type WorkerProcess } from '../support/harness.js';
import { python } from '../support/interop-suite.js';

const BROKER = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672//';
const run = randomUUID().slice(0, 8);
const env = { CELERYTS_BROKER_URL: BROKER, BROKER_URL: BROKER };

/** Run a Python helper script and parse the JSON line it prints last. */
function pyJson<T>(args: string[]): T {
  const r = python(BROKER, args);
  assert.equal(r.status, 0, `${args.join(' ')}:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as T;
}

describe('Python tools drive a celeryts worker (RabbitMQ)', () => {
  const queue = `pytools.${run}`;
  const node = `ts-pytools-${run}@interop`;
  let worker: WorkerProcess;
  before(async () => {
    worker = await spawnWorker(['-Q', queue, '-n', node], { env });
  });
  after(async () => {
    worker.child.kill('SIGTERM');
    await worker.exited;
  });

  it('app.control.revoke(id, terminate=1) terminates the running task: the Python caller sees REVOKED at once', () => {
    const o = pyJson<{ state: string; exc_type?: string; after: number; error?: string }>(['revoke_running.py', queue, node, '20']);
    assert.equal(o.state, 'REVOKED', JSON.stringify(o));
    assert.equal(o.exc_type, 'TaskRevokedError');
    assert.ok(o.after < 5, `revoked after ${o.after}s`);
  });
});
