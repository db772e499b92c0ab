/**
 * Results shared with Python Celery 5.2 through the Redis result backend: a Python client reads
 * a celeryts-run task's result by id, `celery result <id>` shows it, and a celeryts client reads
 * the result of a task a Python worker ran, and chords complete with header and body on
 * different languages, both ways. Broker: Redis (db 15); results: Redis (db 15).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { chord, createApp, Signature, TaskFailedError, type App } from 'celeryts';
import { eventually, spawnWorker, type WorkerProcess } from '../support/harness.js';
import { testRedisUrl } from '../support/helpers.js';
import { python, spawnPythonWorker, type PythonWorker } from '../support/interop-suite.js';

const url = testRedisUrl();
const run = randomUUID().slice(0, 8);
const TS_QUEUE = `results.ts.${run}`;
const PY_QUEUE = `results.py.${run}`;
const env = { CELERYTS_BROKER_URL: url, CELERYTS_RESULT_BACKEND: url, RESULT_BACKEND: url };
const py = (args: string[]) => python(url, args, env);

describe('Redis results shared between celeryts and Python Celery', () => {
  let tsWorker: WorkerProcess;
  let pyWorker: PythonWorker;
  let app: App;
  before(async () => {
    tsWorker = await spawnWorker(['-Q', TS_QUEUE, '-n', `ts-${run}@results`, '-l', 'info'], { env });
    pyWorker = await spawnPythonWorker(url, `py-${run}@results`, PY_QUEUE, ['-P', 'solo'], env);
    // Current: chords send through it.
    app = await createApp({ brokerUrl: url, resultBackend: url, logLevel: 'silent' });
  });
  after(async () => {
    await app.close();
    tsWorker.child.kill('SIGTERM');
    await pyWorker.stop();
    await tsWorker.exited;
  });

  it('a Python client reads a celeryts-run result by id (success and failure), and `celery result` shows it', async () => {
    const ok = await app.sendTask<number>('proj.tasks.add', [20, 22], {}, { queue: TS_QUEUE });
    const bad = await app.sendTask('proj.tasks.fail', ['boom by id'], {}, { queue: TS_QUEUE });
    assert.equal(await ok.get({ timeout: 15 }), 42);
    await bad.get({ timeout: 15, propagate: false });

    const a = py(['result.py', ok.id]);
    assert.equal(a.status, 0, a.stderr);
    const got = JSON.parse(a.stdout.trim()) as Record<string, unknown>;
    assert.equal(got['status'], 'SUCCESS');
    assert.equal(got['result'], 42);
    assert.ok(got['date_done'], 'Python parses our date_done');

    const b = JSON.parse(py(['result.py', bad.id]).stdout.trim()) as Record<string, unknown>;
    assert.equal(b['status'], 'FAILURE');
    assert.equal(b['exc_type'], 'TypeError', 'rebuilt as the builtin TypeError');
    assert.equal(b['message'], 'boom by id');
    assert.match(String(b['traceback']), /boom by id/);

    const cli = py(['-m', 'celery', '-A', 'proj', 'result', ok.id]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout.trim(), '42');
  });

  it('a Python client sees the children of a celeryts task that sent subtasks (Celery result tuples)', async () => {
    const r = await app.sendTask<string[]>('proj.tasks.fanout', [3], {}, { queue: TS_QUEUE });
    const ids = await r.get({ timeout: 15 });
    assert.equal(ids.length, 3);
    const got = JSON.parse(py(['result.py', r.id]).stdout.trim()) as { children: string[] };
    assert.deepEqual([...got.children].sort(), [...ids].sort(), "Python's AsyncResult.children");
    // The children ran on the same queue; each names its parent.
    for (const id of ids) {
      const child = await app.asyncResult(id);
      await child.get({ timeout: 15 });
      assert.equal(child.parent?.id, r.id);
    }
  });

  it('a celeryts client reads by id the result of a task a Python worker ran', async () => {
    const sent = py(['client.py', JSON.stringify({ task: 'proj.tasks.add', args: [7, 8], queue: PY_QUEUE, timeout: 15 })]);
    assert.equal(sent.status, 0, sent.stderr);
    const id = (JSON.parse(sent.stdout.trim().split('\n').pop()!) as { id: string }).id;
    const r = await app.asyncResult<number>(id);
    assert.equal(r.state, 'SUCCESS');
    assert.equal(await r.get({ timeout: 5 }), 15);
    assert.ok(r.dateDone instanceof Date && !Number.isNaN(r.dateDone.getTime()));

    const failed = py(['client.py', JSON.stringify({ task: 'proj.tasks.fail', args: ['py boom'], queue: PY_QUEUE, timeout: 15 })]);
    const fid = (JSON.parse(failed.stdout.trim().split('\n').pop()!) as { id: string }).id;
    const f = await app.asyncResult(fid);
    const err = await f.get({ timeout: 5, propagate: false });
    assert.ok(err instanceof TaskFailedError, String(err));
    assert.equal(err.excMessage, 'py boom');
    assert.match(f.traceback ?? '', /Traceback/);

    // Waiting by id for a Python task that is still running: pushed when it ends.
    const slow = await app.sendTask<null>('proj.tasks.sleep', [1], {}, { queue: PY_QUEUE });
    const other = await app.asyncResult(slow.id);
    assert.equal(other.ready(), false);
    await other.get({ timeout: 15 });
    assert.equal(other.state, 'SUCCESS');
  });

  it('a celeryts chord whose header runs on the Python worker and whose body runs on the celeryts worker', async () => {
    const header = [new Signature('proj.tasks.add', [1, 1], {}, { queue: PY_QUEUE }), new Signature('proj.tasks.add', [2, 2], {}, { queue: PY_QUEUE })];
    const r = await chord(header, new Signature<number>('proj.tasks.xsum', [], {}, { queue: TS_QUEUE })).applyAsync();
    assert.equal(await r.get({ timeout: 20 }), 6);
    const ran = new RegExp(`proj\\.tasks\\.xsum\\[${r.id}\\] succeeded`);
    await eventually(() => ran.test(tsWorker.output()), 3000, 'the body to have run on the celeryts worker');
  });

  it('a Python chord whose header runs on the celeryts worker and whose body runs on the Python worker', () => {
    const spec = {
      chord: {
        header: [
          ['proj.tasks.add', [1, 1], TS_QUEUE],
          ['proj.tasks.add', [2, 2], TS_QUEUE],
          ['proj.tasks.add', [3, 3], TS_QUEUE],
        ],
        body: ['proj.tasks.xsum', [], PY_QUEUE],
      },
      timeout: 20,
    };
    const o = py(['client.py', JSON.stringify(spec)]);
    assert.equal(o.status, 0, o.stderr);
    const out = JSON.parse(o.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.equal(out['result'], 12, JSON.stringify(out));
  });
});
