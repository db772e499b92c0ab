/**
 * What scripts get from the CLI, on the embedded broker: stdout carries only the answer (logs
 * and warnings go to stderr), failures are printed once, exit codes tell usage (2) from a
 * failed task or an error reply (1), and a timeout or an unknown task says what to look at.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBroker } from 'celeryts';
import { cli, spawnWorker, tempBrokerUrl, type WorkerProcess } from '../support/harness.js';

const UUID = /^[0-9a-f-]{36}$/;

describe('CLI output and exit codes, with a worker (tasks-example, embedded broker)', () => {
  const brokerUrl = tempBrokerUrl();
  const env = { CELERYTS_BROKER_URL: brokerUrl };
  let worker: WorkerProcess;
  before(async () => {
    worker = await spawnWorker(['-c', '2'], { env });
  });
  after(async () => {
    worker.child.kill('SIGTERM');
    await worker.exited;
  });

  it('stdout of call is the task id alone (then the result), even at -l debug; logs go to stderr', () => {
    const r = cli(['call', 'proj.tasks.add', '2', '3', '--wait', '-l', 'debug'], { env });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, UUID, `stdout: ${r.stdout}`);
    assert.deepEqual(lines.slice(1), ['5', '']);
    assert.match(r.stderr, /celeryts call: config .*celeryts\.config\.ts, broker file:\/\//, 'the command names its config and broker on stderr');
    // What `X=$(celeryts call ...)` captures with -A and an unregistered name: the id, and the warning is on stderr.
    const warned = cli(['call', 'proj.tasks.nothere', '-A', 'proj.tasks'], { env });
    assert.match(warned.stdout, /^[0-9a-f-]{36}\n$/);
    assert.match(warned.stderr, /not registered in the loaded modules/);
  });

  it("the worker's startup log line names the config file and the masked broker, on stderr", () => {
    assert.match(worker.stderr(), /starting \(config .*celeryts\.config\.ts, broker file:\/\//);
    assert.equal(worker.stdout(), '', 'a worker prints nothing on stdout');
  });

  it("a missing positional argument fails with Python's TypeError instead of running (exit 1)", () => {
    const r = cli(['call', 'proj.tasks.add', '1', '--wait', '--timeout', '10'], { env });
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stdout, /^[0-9a-f-]{36}\n$/, 'only the id on stdout, no null');
    assert.match(r.stderr, /^TypeError: add\(\) missing 1 required positional argument: 'y'$/m);
  });

  it('a failure is printed once: the traceback names the error on its first line', () => {
    const r = cli(['call', 'proj.tasks.fail', 'boom', '--wait', '--timeout', '10'], { env });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.match(/TypeError: boom/g)?.length, 1, r.stderr);
    assert.match(r.stderr, /^TypeError: boom\n {4}at /m);
  });

  it('NotRegistered: the caller sees the worker\'s "did you mean"', () => {
    const r = cli(['call', 'proj.tasks.ad', '1', '--wait', '--timeout', '10'], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^NotRegistered: proj\.tasks\.ad$/m);
    assert.match(r.stderr, /did you mean 'proj\.tasks\.add'/);
  });

  it('--wait --timeout on a queue nobody consumes says which queue and that no worker consumes it (exit 1)', () => {
    const r = cli(['call', 'proj.tasks.add', '1', '2', '-Q', 'nobody.here', '--wait', '--timeout', '0.5'], { env });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /CELERYTS_RESULT_TIMEOUT/);
    assert.match(r.stderr, /still waiting in queue 'nobody\.here'.*no worker may be consuming it/);
  });

  it('a control command a worker answers with an error exits non-zero', () => {
    const bad = cli(['control', 'rate_limit', 'proj.tasks.nope', '2/s', '--timeout', '1'], { env });
    assert.match(bad.stdout, /ERROR\n {8}unknown task/);
    assert.equal(bad.status, 1);
    const good = cli(['control', 'rate_limit', 'proj.tasks.add', '0', '--timeout', '1'], { env });
    assert.equal(good.status, 0, good.stderr);
  });

  it("Celery's other remote-control commands from the CLI: inspect conf/clock/report/memsample, control time_limit/pool_grow/pool_shrink/heartbeat (errors exit 1)", () => {
    const json = (...args: string[]) => {
      const r = cli([...args, '--json', '--timeout', '1'], { env });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      return Object.values(JSON.parse(r.stdout) as Record<string, unknown>)[0];
    };
    assert.equal((json('inspect', 'conf') as Record<string, unknown>)['brokerUrl'], brokerUrl);
    assert.ok(Number.isInteger((json('inspect', 'clock') as { clock: number }).clock));
    assert.match((json('inspect', 'report') as { ok: string }).ok, /^software -> celeryts:/);
    assert.match(String(json('inspect', 'memsample')), /^\d+(\.\d+)?MB$/);
    assert.deepEqual(json('control', 'time_limit', 'proj.tasks.add', '30', '60'), { ok: 'time limits set successfully' });
    assert.deepEqual(json('control', 'pool_grow', '2'), { ok: 'pool will grow' });
    assert.deepEqual(json('control', 'pool_shrink', '2'), { ok: 'pool will shrink' });
    assert.equal(json('control', 'heartbeat'), null);
    for (const args of [
      ['control', 'autoscale', '4', '2'],
      ['control', 'pool_restart'],
      ['inspect', 'objgraph'],
    ]) {
      const r = cli([...args, '--timeout', '1'], { env });
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stdout, /ERROR\n {8}\S/);
    }
  });

  it('purge -Q of a queue that does not exist does not create it', async () => {
    const r = cli(['purge', '-f', '-Q', 'no.such.queue'], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'No messages purged from 0 queues.\n');
    assert.match(r.stderr, /queue 'no\.such\.queue' does not exist/);
    const broker = await createBroker(brokerUrl);
    await broker.connect();
    try {
      assert.equal(await broker.queueSize('no.such.queue'), undefined);
    } finally {
      await broker.close();
    }
  });
});

describe('usage errors exit 2', () => {
  const env = { CELERYTS_BROKER_URL: tempBrokerUrl() };
  it('an unknown option, a missing argument, a bad number, an unknown level, an unknown inspect method', () => {
    for (const args of [
      ['worker', '--no-such-option'],
      ['call'],
      ['worker', '-c', 'many'],
      ['call', 'proj.tasks.add', '-l', 'loud'],
      ['inspect', 'everything'],
      [],
    ]) {
      const r = cli(args, { env });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', `${args.join(' ')} prints nothing on stdout`);
    }
    assert.equal(cli(['--help'], { env }).status, 0);
    assert.equal(cli(['worker', '--help'], { env }).status, 0);
  });
});
