/**
 * The CLI a Celery user reaches for, on the embedded broker (no RabbitMQ: broker-down cases use
 * a closed local port): Celery's option order and level names, paths for -A, a missing config
 * file said once, secrets never printed, startup retries, pidfile and logfile, shell, report.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cli, eventually, spawnWorker, tempBrokerUrl } from '../support/harness.js';
import { tempDir } from '../support/helpers.js';
import { makeProject } from '../support/project.js';

const TASKS = `import { task } from 'celeryts';\nexport const add = task((x: number, y: number) => x + y);\n`;
/** A port nothing listens on: connecting is refused at once. */
const CLOSED = 'amqp://user:S3cretPw@127.0.0.1:1//';

describe("Celery's habits on the command line", () => {
  it('-A before the command, -A ./file.ts as a path from the current folder, -l INFO in capitals', async () => {
    const dir = makeProject({ 'celeryts.config.json': '{}', 'jobs/tasks.ts': TASKS }, { type: 'module' });
    const env = { CELERYTS_BROKER_URL: tempBrokerUrl() };
    const worker = await spawnWorker(['-l', 'INFO'], { cwd: path.join(dir, 'jobs'), env, argsBefore: ['-A', './tasks.ts'] });
    try {
      assert.match(worker.stderr(), /"tasks":\["jobs\.tasks\.add"\]/, 'the path resolved against the current folder, named from the root');
      const r = cli(['call', 'jobs.tasks.add', '2', '3', '--wait', '--timeout', '10', '-l', 'critical'], { cwd: dir, env });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.split('\n')[1], '5');
      assert.equal(r.stderr, '', '-l critical: nothing below critical');
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    const warning = cli(['report', '-l', 'WARNING'], { cwd: dir, env });
    assert.equal(warning.status, 0, warning.stderr);
    assert.match(warning.stdout, /^logLevel: "warn"$/m);
  });

  it('no config file: said once on stderr, with the folder of the embedded broker', () => {
    const dir = tempDir('noconfig-');
    const r = cli(['report'], { cwd: dir, env: { CELERYTS_BROKER_URL: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.match(/no config file found/g)?.length, 1, r.stderr);
    assert.ok(r.stderr.includes(`embedded broker in ${path.join(dir, '.celeryts')}`), r.stderr);
    assert.match(r.stdout, /^config file -> \(none: defaults\)$/m);
  });

  it('report prints versions and the config with every secret masked', () => {
    const dir = makeProject({
      'celeryts.config.json': JSON.stringify({
        brokerUrl: 'amqps://deploy:Sup3rS3cret@rabbit:5671/prod',
        brokerTls: { passphrase: 'hush-hush', caFile: '/etc/ca.pem' },
      }),
    });
    const r = cli(['report'], { cwd: dir, env: { CELERYTS_BROKER_URL: '' } });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^software -> celeryts:\d+\.\d+\.\d+ node:v\d+/m);
    assert.match(r.stdout, /deps -> amqplib:\d/);
    assert.match(r.stdout, /^brokerUrl: "amqps:\/\/deploy:\*\*\*\*@rabbit:5671\/prod"$/m);
    assert.match(r.stdout, /"caFile":"\/etc\/ca\.pem"/);
    assert.doesNotMatch(r.stdout + r.stderr, /Sup3rS3cret|hush-hush/);
  });

  it('a mistyped scheme is refused (exit 2) without printing the password, even with an unencoded @ in it', () => {
    const dir = makeProject({ 'celeryts.config.json': JSON.stringify({ brokerUrl: 'ampq://user:S3c@ret/x@rabbit:5672//' }) });
    const r = cli(['worker'], { cwd: dir, env: { CELERYTS_BROKER_URL: '' } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /must start with amqp:\/\/.*got "ampq:\/\/user:\*\*\*\*@rabbit:5672\/\/"/);
    assert.doesNotMatch(r.stderr, /S3c|ret\/x/);
  });

  it('a prefetch over 65535 is refused before the worker starts (exit 2), naming the limit', () => {
    const r = cli(['worker', '-c', '100', '--prefetch-multiplier', '1000'], { env: { CELERYTS_BROKER_URL: tempBrokerUrl() } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /prefetch = concurrency x prefetchMultiplier = 100 x 1000 = 100000, over the broker limit of 65535/);
  });
});

describe('a broker that is down at start', () => {
  it('--no-retry-on-startup: one error naming the masked URL, exit 1 at once', () => {
    const started = Date.now();
    const r = cli(['worker', '-b', CLOSED, '--no-retry-on-startup']);
    assert.equal(r.status, 1, r.stderr);
    assert.ok(Date.now() - started < 10_000);
    assert.match(r.stderr, /CELERYTS_BROKER.*amqp:\/\/user:\*\*\*\*@127\.0\.0\.1:1\/\//);
    assert.doesNotMatch(r.stderr, /Trying again/);
    assert.doesNotMatch(r.stderr + r.stdout, /S3cretPw/);
  });

  it('retries with a line per attempt, up to brokerConnectionMaxRetries, then exit 1 (backoff: test/unit/cli-units)', () => {
    const dir = makeProject({ 'celeryts.config.json': JSON.stringify({ brokerUrl: CLOSED, brokerConnectionMaxRetries: 1 }) });
    const r = cli(['worker'], { cwd: dir, env: { CELERYTS_BROKER_URL: '' } });
    assert.equal(r.status, 1);
    const attempts = r.stderr.split('\n').filter((l) => l.includes('Trying again'));
    assert.equal(attempts.length, 1, r.stderr);
    assert.match(attempts[0]!, /Cannot connect to amqp:\/\/user:\*\*\*\*@127\.0\.0\.1:1\/\/: .*ECONNREFUSED.*Trying again in 1\.00 seconds\.\.\. \(1\/1\)/);
    assert.match(r.stderr, /CELERYTS_BROKER/, 'then the last error');
    assert.doesNotMatch(r.stderr, /S3cretPw/);
  });
});

describe('running under a supervisor', () => {
  it('--pidfile holds the pid (a second worker is refused), --logfile takes the logs, both cleaned up on SIGTERM', async () => {
    const dir = tempDir('sup-');
    const env = { CELERYTS_BROKER_URL: tempBrokerUrl() };
    const pidfile = path.join(dir, 'w.pid');
    const logfile = path.join(dir, 'logs', 'w.log');
    const w = await spawnWorker(['--pidfile', pidfile, '--logfile', logfile], { env, waitReady: false });
    try {
      await eventually(() => existsSync(logfile) && / ready\./.test(readFileSync(logfile, 'utf8')), 20_000, 'ready in the log file');
      assert.equal(readFileSync(pidfile, 'utf8'), `${w.child.pid}\n`);
      assert.equal(w.output(), '', 'nothing on stdout or stderr');
      const twin = cli(['worker', '--pidfile', pidfile, '-n', 'twin@%h'], { env });
      assert.equal(twin.status, 2);
      assert.match(twin.stderr, new RegExp(`pidfile .*w\\.pid belongs to running process ${w.child.pid}`));
    } finally {
      w.child.kill('SIGTERM');
    }
    assert.equal(await w.exited, 0);
    assert.ok(!existsSync(pidfile), 'pidfile removed at exit');
    assert.match(readFileSync(logfile, 'utf8'), /Warm shutdown/);
  });
});

describe('celeryts shell', () => {
  it('a Node REPL with the app and the tasks in scope; top-level await sends and waits', async () => {
    const env = { CELERYTS_BROKER_URL: tempBrokerUrl() };
    const worker = await spawnWorker([], { env });
    try {
      const r = cli(['shell'], { env, input: 'add.name\nawait (await add.delay(20, 22)).get({ timeout: 10 })\ntypeof app.sendTask\n' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /'proj\.tasks\.add'/);
      assert.match(r.stdout, /^(celeryts> )*42$/m);
      assert.match(r.stdout, /'function'/);
      assert.match(r.stderr, /app, celery, tasks, .*add/);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });
});
