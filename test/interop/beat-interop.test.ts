/**
 * celeryts beat -> a Python Celery 5.2.6 worker over RabbitMQ: the ticks beat sends are plain
 * protocol v2 task messages that Python runs (with the entry's args and kwargs), each once.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import amqp from 'amqplib';
import { tickTime } from 'celeryts';
import { eventually } from '../support/harness.js';
import { REPO } from '../support/helpers.js';
import { beatProject, spawnCli, stop, type CliProcess } from '../support/beat-harness.js';

const AMQP = process.env['CELERYTS_TEST_AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672//';
const PY = '/usr/bin/python3';
const PYDIR = path.join(REPO, 'test', 'interop', 'py');
const run = randomUUID().slice(0, 8);
const QUEUE = `interop.beat.${run}`;
const PREFIX = `interop.beat.${run}.store`;

describe('celeryts beat -> Python Celery worker', () => {
  let py: ChildProcess;
  let pyOut = '';
  let beat: CliProcess | undefined;
  before(async () => {
    py = spawn(PY, ['-m', 'celery', '-A', 'proj', 'worker', '-Q', QUEUE, '-n', `py-beat-${run}@interop`, '-P', 'solo', '-l', 'INFO'], {
      cwd: PYDIR,
      env: { ...process.env, BROKER_URL: AMQP },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    py.stdout!.on('data', (d: Buffer) => (pyOut += d.toString()));
    py.stderr!.on('data', (d: Buffer) => (pyOut += d.toString()));
    await eventually(() => /ready\./.test(pyOut), 30_000, 'python worker ready').catch((err: Error) => {
      throw new Error(`${err.message}\n${pyOut}`);
    });
  });
  after(async () => {
    if (beat) await stop(beat);
    py.kill('SIGTERM');
    await new Promise((r) => py.once('exit', r));
    const conn = await amqp.connect(AMQP);
    const ch = await conn.createChannel();
    for (const q of ['leader', 'state.leader', 'state.view', 'changes']) await ch.deleteQueue(`${PREFIX}.${q}`);
    await ch.deleteExchange(`${PREFIX}.state`);
    await ch.deleteQueue(QUEUE);
    await ch.deleteExchange(QUEUE);
    await conn.close();
  });

  it('the Python worker runs each tick once, with the entry arguments', async () => {
    const dir = beatProject({
      brokerUrl: AMQP,
      beatKeyPrefix: PREFIX,
      beatLockTimeout: 0.5,
      beatSchedule: { adder: { task: 'proj.tasks.add', schedule: 0.5, args: [2], kwargs: { y: 3 }, options: { queue: QUEUE, expires: 60 } } },
    });
    beat = spawnCli(['beat'], { cwd: dir });
    const succeeded = () => [...pyOut.matchAll(/Task proj\.tasks\.add\[([0-9a-f-]{36})\] succeeded in [^:]+: (\d+)/g)];
    await eventually(() => succeeded().length >= 4, 20_000, 'four ticks run by Python').catch((err: Error) => {
      throw new Error(`${err.message}\n--- python:\n${pyOut}\n--- beat:\n${beat!.output()}`);
    });
    assert.equal(await stop(beat), 0);
    const runs = succeeded();
    assert.ok(
      runs.every((m) => m[2] === '5'),
      'add(2, y=3) = 5',
    );
    const dues = runs.map((m) => tickTime(m[1]!)!).sort((a, b) => a - b);
    assert.equal(new Set(dues).size, dues.length, 'no tick ran twice');
    assert.ok(
      dues.slice(1).every((d, i) => d - dues[i]! === 500),
      `one run per tick: ${dues.join(', ')}`,
    );
    assert.doesNotMatch(pyOut, /Received unregistered task|ERROR/);
  });
});
