/**
 * The CLI as a user runs it, on the embedded broker: the quick start, failures, unknown tasks,
 * inspect, and what happens to tasks when a worker is killed or asked to stop.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { BIN, cli, E2E, eventually, readRecord, spawnWorker, tempBrokerUrl, tempRecordFile, type WorkerProcess } from '../support/harness.js';
import { REPO } from '../support/helpers.js';

describe('quick start: worker, call, inspect (tasks-example, embedded broker)', () => {
  const env = { CELERYTS_BROKER_URL: tempBrokerUrl() };
  let worker: WorkerProcess;
  before(async () => {
    worker = await spawnWorker([], { env });
  });
  after(async () => {
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exited, 0, 'warm shutdown exits 0');
  });

  it('call proj.tasks.add 2 3 --wait prints the task id, then 5', () => {
    const r = cli(['call', 'proj.tasks.add', '2', '3', '--wait'], { env });
    assert.equal(r.status, 0, r.stderr);
    const [id, value] = r.stdout.trim().split('\n');
    assert.match(id!, /^[0-9a-f-]{36}$/);
    assert.equal(value, '5');
  });

  it('parses bare arguments as JSON where valid, else as strings; --args and --kwargs', () => {
    const r = cli(['call', 'proj.tasks.xsum', '[1,2,3.5]', '--wait'], { env });
    assert.equal(r.stdout.trim().split('\n')[1], '6.5');
    const k = cli(['call', 'proj.tasks.add', '--args', '[40]', '--kwargs', '{"y": 2}', '--wait'], { env });
    assert.equal(k.stdout.trim().split('\n')[1], '42');
    const s = cli(['call', 'proj.tasks.hello', 'world', '--wait'], { env });
    assert.match(s.stdout, /"hello world from celery@/);
  });

  it('prints the error and exits 1 when the task fails', () => {
    const r = cli(['call', 'proj.tasks.fail', 'boom', '--wait'], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^TypeError: boom/m);
  });

  it('an unknown task: exit 1 with NotRegistered; the worker logs the closest names and keeps running', async () => {
    const r = cli(['call', 'proj.tasks.ad', '1', '--wait', '--timeout', '10'], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /NotRegistered: proj\.tasks\.ad/);
    await eventually(() => /not registered.*did you mean 'proj\.tasks\.add'/.test(worker.output()), 3000, 'worker log');
    assert.equal(cli(['call', 'proj.tasks.mul', '6', '7', '--wait'], { env }).stdout.trim().split('\n')[1], '42');
  });

  it('warns when -A loads modules that do not register the name, and sends anyway', () => {
    const r = cli(['call', 'proj.tasks.nothere', '-A', 'proj.tasks'], { env });
    assert.equal(r.status, 0);
    assert.match(r.stdout + r.stderr, /not registered in the loaded modules/);
  });

  it('inspect registered lists the example tasks the way celery inspect prints them', () => {
    const r = cli(['inspect', 'registered'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^-> {2}celery@.+: OK$/m);
    for (const t of ['proj.tasks.add', 'proj.tasks.hello', 'proj.tasks.query']) assert.match(r.stdout, new RegExp(`^    \\* ${t.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(r.stdout, /1 node online\./);
  });

  it('inspect ping --json prints { node: answer }', () => {
    const r = cli(['inspect', 'ping', '--json'], { env });
    const replies = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.values(replies), [{ ok: 'pong' }]);
  });

  it('the DatabaseTask base opens its connection once across many calls', () => {
    const results = Array.from({ length: 4 }, () => cli(['call', 'proj.tasks.query', 'select 1', '--wait'], { env }));
    const opened = results.map((r) => (JSON.parse(r.stdout.trim().split('\n')[1]!) as { opened: number }).opened);
    assert.deepEqual(opened, [1, 1, 1, 1]);
  });

  it('status lists the worker as celery status does', () => {
    const r = cli(['status'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^-> {2}celery@\S+: OK\n\n1 node online\.\n$/);
  });

  it('purge asks first (refuses without a terminal), then with -f deletes the waiting tasks', () => {
    const quiet = { CELERYTS_BROKER_URL: tempBrokerUrl() }; // no worker here: the tasks wait
    for (const n of [1, 2, 3]) assert.equal(cli(['call', 'proj.tasks.add', String(n), '1', '-Q', 'held'], { env: quiet }).status, 0);
    const refused = cli(['purge', '-Q', 'held'], { env: quiet });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /refusing to purge held without confirmation .*pass -f/);
    const excluded = cli(['purge', '-f', '-Q', 'held,celery', '-X', 'held'], { env: quiet });
    assert.equal(excluded.stdout, 'No messages purged from 0 queues.\n', excluded.stderr);
    assert.match(excluded.stderr, /queue 'celery' does not exist .*nothing to purge/);
    const purged = cli(['purge', '-f', '-Q', 'held'], { env: quiet });
    assert.equal(purged.stdout, 'Purged 3 messages from 1 known task queue.\n', purged.stderr);
    assert.equal(cli(['purge', '-f', '-Q', 'held'], { env: quiet }).stdout, 'No messages purged from 1 queue.\n');
  });

  it('inspect with no worker answering exits 1 with a clear message', () => {
    const r = cli(['inspect', 'ping', '--timeout', '0.3'], { env: { CELERYTS_BROKER_URL: tempBrokerUrl() } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /No nodes replied/);
  });
});

describe('workers that die or are stopped', () => {
  function callInBackground(args: string[], env: NodeJS.ProcessEnv) {
    const child = spawn(process.execPath, [BIN, 'call', ...args], { cwd: E2E, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    return { child, done: new Promise<{ code: number | null; out: string }>((resolve) => child.on('exit', (code) => resolve({ code, out }))) };
  }

  it('acksLate: a task whose worker is SIGKILLed mid-run runs again after restart, and the caller gets its result', async () => {
    const record = tempRecordFile();
    const env = { CELERYTS_BROKER_URL: tempBrokerUrl(), RECORD_FILE: record };
    const w1 = await spawnWorker(['--acks-late', '-n', 'k1@%h'], { cwd: E2E, env });
    const call = callInBackground(['app.jobs.step', 'survivor', '800', '--wait', '--timeout', '30'], env);
    await eventually(() => readRecord(record).some((e) => e.event === 'start'), 10_000, 'first run');
    w1.child.kill('SIGKILL');
    await w1.exited;
    const w2 = await spawnWorker(['--acks-late', '-n', 'k2@%h'], { cwd: E2E, env });
    const { code, out } = await call.done;
    assert.equal(code, 0, out);
    assert.equal(out.trim().split('\n')[1], '"survivor"');
    const starts = readRecord(record).filter((e) => e.event === 'start');
    assert.equal(starts.length, 2, 'ran once in each worker');
    assert.notEqual(starts[0]!.pid, starts[1]!.pid);
    w2.child.kill('SIGTERM');
    await w2.exited;
  });

  it('early acks: a task whose worker is SIGKILLed mid-run is not run again (at most once)', async () => {
    const record = tempRecordFile();
    const env = { CELERYTS_BROKER_URL: tempBrokerUrl(), RECORD_FILE: record };
    const w1 = await spawnWorker(['-n', 'e1@%h'], { cwd: E2E, env });
    cli(['call', 'app.jobs.step', 'once', '800'], { cwd: E2E, env });
    await eventually(() => readRecord(record).some((e) => e.event === 'start'), 10_000, 'first run');
    w1.child.kill('SIGKILL');
    await w1.exited;
    const w2 = await spawnWorker(['-n', 'e2@%h'], { cwd: E2E, env });
    const after = cli(['call', 'app.jobs.step', 'next', '--wait'], { cwd: E2E, env });
    assert.equal(after.status, 0, after.stderr);
    assert.deepEqual(
      readRecord(record)
        .filter((e) => e.event === 'start')
        .map((e) => e.label),
      ['once', 'next'],
    );
    w2.child.kill('SIGTERM');
    await w2.exited;
  });

  it('SIGTERM: the running task finishes and is acked, the worker exits 0; a second signal exits at once', async () => {
    const record = tempRecordFile();
    const env = { CELERYTS_BROKER_URL: tempBrokerUrl(), RECORD_FILE: record };
    const w = await spawnWorker(['-n', 't1@%h'], { cwd: E2E, env });
    const call = callInBackground(['app.jobs.step', 'finishing', '600', '--wait', '--timeout', '20'], env);
    await eventually(() => readRecord(record).some((e) => e.event === 'start'), 10_000, 'start');
    w.child.kill('SIGTERM');
    assert.equal(await w.exited, 0);
    assert.deepEqual(
      readRecord(record).map((e) => e.event),
      ['start', 'end'],
    );
    const { out } = await call.done;
    assert.equal(out.trim().split('\n')[1], '"finishing"');

    const cold = await spawnWorker(['--acks-late', '-n', 't2@%h'], { cwd: E2E, env });
    cli(['call', 'app.jobs.step', 'cold', '5000'], { cwd: E2E, env });
    await eventually(() => readRecord(record).some((e) => e.label === 'cold'), 10_000, 'cold start');
    cold.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    cold.child.kill('SIGTERM');
    assert.equal(await cold.exited, 1, 'cold shutdown');
    assert.ok(!readRecord(record).some((e) => e.label === 'cold' && e.event === 'end'));
    // The acks-late task went back to the queue: a new worker runs it.
    const again = await spawnWorker(['--acks-late', '-n', 't3@%h'], { cwd: E2E, env });
    await eventually(() => readRecord(record).filter((e) => e.label === 'cold' && e.event === 'start').length === 2, 10_000, 'rerun');
    again.child.kill('SIGKILL');
    await again.exited;
  });
});

void REPO;
