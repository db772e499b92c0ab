/** Pieces of the CLI that need no process: startup retries, failure text, -A paths, report masking, pidfiles. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { App } from '../../src/app.js';
import { failureText } from '../../src/cli/call-command.js';
import { moduleRefsFromCli } from '../../src/cli/common.js';
import { connectWithRetry, retryDelaySeconds } from '../../src/cli/connect-retry.js';
import { holdPidfile } from '../../src/cli/pidfile.js';
import { maskedConfig } from '../../src/config/report.js';
import { resolveConfig } from '../../src/config/load-config.js';
import { BrokerError, ConfigError, TaskFailedError } from '../../src/core/errors.js';
import { FakeBroker } from '../support/fake-broker.js';
import { tempDir } from '../support/helpers.js';
import { LogCapture } from '../support/log-capture.js';

describe('waiting for the broker at start', () => {
  function appWithBroker(failures: number, config: Parameters<typeof resolveConfig>[0] = {}) {
    const broker = new FakeBroker();
    let attempts = 0;
    broker.connect = async () => {
      if (++attempts <= failures) throw new BrokerError('cannot connect to the broker (amqp://u:****@h//): connect ECONNREFUSED 127.0.0.1:5672');
      broker.connected = true;
    };
    const logs = new LogCapture();
    const app = new App(resolveConfig({ brokerUrl: 'amqp://u:pw@h//', ...config }, tempDir('retry-')), { broker, logger: logs.logger() });
    return { app, logs, attempts: () => attempts };
  }

  it('backs off 1, 2, 4 ... 30 s, logs a line per attempt with the masked URL, and connects once the broker is up', async () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 20].map(retryDelaySeconds), [1, 2, 4, 8, 16, 30, 30, 30]);
    const { app, logs, attempts } = appWithBroker(3);
    const slept: number[] = [];
    await connectWithRetry(app, async (ms) => void slept.push(ms));
    assert.deepEqual(slept, [1000, 2000, 4000]);
    assert.equal(attempts(), 4);
    const lines = logs.lines.map((l) => String(l['msg']));
    assert.deepEqual(
      lines.map((l) => /Trying again in ([\d.]+) seconds\.\.\. \((\d+)\/100\)/.exec(l)?.slice(1)),
      [
        ['1.00', '1'],
        ['2.00', '2'],
        ['4.00', '3'],
      ],
    );
    assert.match(lines[0]!, /^Cannot connect to amqp:\/\/u:\*\*\*\*@h\/\/: connect ECONNREFUSED/);
  });

  it('gives up after brokerConnectionMaxRetries, at once without retry-on-startup, and never retries a config error', async () => {
    const limited = appWithBroker(5, { brokerConnectionMaxRetries: 2 });
    await assert.rejects(
      connectWithRetry(limited.app, async () => undefined),
      BrokerError,
    );
    assert.equal(limited.attempts(), 3);
    const once = appWithBroker(5, { brokerConnectionRetryOnStartup: false });
    await assert.rejects(
      connectWithRetry(once.app, async () => undefined),
      BrokerError,
    );
    assert.equal(once.attempts(), 1);
    const forever = appWithBroker(150, { brokerConnectionMaxRetries: 0 });
    await connectWithRetry(forever.app, async () => undefined);
    assert.equal(forever.attempts(), 151, '0 retries forever');
    const misconfigured = appWithBroker(0);
    misconfigured.app.broker = () => Promise.reject(new ConfigError('bad'));
    await assert.rejects(
      connectWithRetry(misconfigured.app, async () => assert.fail('no retry')),
      ConfigError,
    );
  });
});

describe('call --wait failure text', () => {
  it('prints a traceback that names the error once, adds the headline when it does not (Python puts it last)', () => {
    const js = new TaskFailedError('id', 'TypeError', ['boom'], 'builtins', 'TypeError: boom\n    at run (tasks.ts:3:9)\n');
    assert.equal(failureText(js), 'TypeError: boom\n    at run (tasks.ts:3:9)\n');
    const py = new TaskFailedError('id', 'ValueError', ['bad'], 'builtins', 'Traceback (most recent call last):\n  File "t.py", line 1\nValueError: bad\n');
    assert.equal(failureText(py).match(/ValueError: bad/g)?.length, 1);
    const bare = new TaskFailedError('id', 'NotRegistered', ['x.y'], 'celery.exceptions', "Task of kind 'x.y' is not registered (did you mean 'x.z'?)");
    assert.equal(failureText(bare), "NotRegistered: x.y\nTask of kind 'x.y' is not registered (did you mean 'x.z'?)\n");
    assert.equal(failureText(new TaskFailedError('id', 'E', [], null, null)), 'E: \n');
  });
});

describe('-A references on the command line', () => {
  it('a path that exists from the current folder becomes absolute; module names and other paths stay for the root', () => {
    const here = path.resolve('package.json');
    assert.deepEqual(moduleRefsFromCli(['./package.json', 'proj.tasks', 'no/such/file.ts']), [here, 'proj.tasks', 'no/such/file.ts']);
  });
});

describe('report', () => {
  it('masks passwords in URLs and values under secret-looking keys, at any depth', () => {
    assert.deepEqual(
      maskedConfig({ brokerUrl: 'amqp://u:pw@h//', brokerTls: { passphrase: 'p', caFile: '/ca.pem' }, imports: ['a'], nested: { apiKey: 'k', token: 't' } }),
      {
        brokerUrl: 'amqp://u:****@h//',
        brokerTls: { passphrase: '********', caFile: '/ca.pem' },
        imports: ['a'],
        nested: { apiKey: '********', token: '********' },
      },
    );
  });
});

describe('pidfile', () => {
  it("writes this process's pid, replaces a stale file, refuses one held by a live process", () => {
    const dir = tempDir('pid-');
    const stale = path.join(dir, 'stale.pid');
    writeFileSync(stale, '999999999\n');
    holdPidfile(stale);
    assert.equal(readFileSync(stale, 'utf8'), `${process.pid}\n`);
    const held = path.join(dir, 'held.pid');
    writeFileSync(held, `${process.ppid}\n`);
    assert.throws(() => holdPidfile(held), { name: 'ConfigError', message: new RegExp(`belongs to running process ${process.ppid}`) });
    assert.ok(existsSync(held));
  });
});
