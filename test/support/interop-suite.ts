/**
 * Interop with real Python Celery 5 (Debian's python3-celery) on one broker (run on RabbitMQ by
 * interop.test.ts, on Redis by interop-redis.test.ts): Python client -> celeryts worker,
 * celeryts client -> Python worker, and remote control across both. Each run uses its own
 * queues so parallel runs do not take each other's tasks.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chain, createApp, Signature } from 'celeryts';
import { cli, eventually, spawnWorker, type WorkerProcess } from './harness.js';
import { REPO } from './helpers.js';

/** The Python interpreter with Debian's celery. */
export const PY = '/usr/bin/python3';
/** The Python app (proj) and its helper scripts. */
export const PYDIR = path.join(REPO, 'test', 'interop', 'py');

/** What client.py prints. */
export interface PyOutcome {
  status: string;
  result?: unknown;
  exc_type?: string;
  exc_module?: string;
  message?: string;
  elapsed: number;
}

/** Run a Python program of PYDIR against `brokerUrl` (env BROKER_URL). */
export function python(brokerUrl: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return spawnSync(PY, args, {
    cwd: PYDIR,
    env: { ...process.env, CELERYTS_BROKER_URL: brokerUrl, BROKER_URL: brokerUrl, ...extraEnv },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/** A Python Celery worker process (see spawnPythonWorker). */
export interface PythonWorker {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** SIGTERM, and wait for it to exit. */
  stop(): Promise<void>;
}

/**
 * Start `celery worker` for the Python app (proj) on `queue` as `node`, without mingle and gossip
 * (it then talks to no other worker: test files run side by side), and wait until it is ready.
 */
export async function spawnPythonWorker(
  brokerUrl: string,
  node: string,
  queue: string,
  poolArgs: string[] = ['-P', 'solo'],
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<PythonWorker> {
  const child = spawn(
    PY,
    ['-m', 'celery', '-A', 'proj', 'worker', '-Q', queue, '-n', node, ...poolArgs, '-l', 'INFO', '--without-mingle', '--without-gossip'],
    {
      cwd: PYDIR,
      env: { ...process.env, CELERYTS_BROKER_URL: brokerUrl, BROKER_URL: brokerUrl, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  await eventually(() => /ready\./.test(out), 30_000, 'python worker ready').catch((err: Error) => {
    child.kill('SIGTERM');
    throw new Error(`${err.message}\n${out}`);
  });
  return {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Register the interop tests for one broker. */
export function runInteropSuite(label: string, brokerUrl: string): void {
  const run = randomUUID().slice(0, 8);
  const TS_QUEUE = `interop.ts.${run}`;
  const PY_QUEUE = `interop.py.${run}`;
  const env = { CELERYTS_BROKER_URL: brokerUrl, BROKER_URL: brokerUrl };
  const py = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => python(brokerUrl, args, extraEnv);
  const pyCall = (spec: Record<string, unknown>): PyOutcome => {
    const r = py(['client.py', JSON.stringify({ queue: TS_QUEUE, timeout: 15, ...spec })]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as PyOutcome;
  };

  describe(`Python Celery client -> celeryts worker (${label})`, () => {
    let worker: WorkerProcess;
    const node = `ts-${run}@interop`;
    before(async () => {
      worker = await spawnWorker(['-Q', TS_QUEUE, '-n', node], { env });
    });
    after(async () => {
      worker.child.kill('SIGTERM');
      await worker.exited;
    });

    it('runs add(2, 3) and returns 5 through rpc://', () => {
      assert.deepEqual(pyCall({ task: 'proj.tasks.add', args: [2, 3] }).result, 5);
    });

    it('binds Python kwargs to the JavaScript parameters', () => {
      assert.deepEqual(pyCall({ task: 'proj.tasks.add', args: [2], kwargs: { y: 40 } }).result, 42);
    });

    it('honours countdown', () => {
      const o = pyCall({ task: 'proj.tasks.add', args: [1, 1], countdown: 1 });
      assert.equal(o.result, 2);
      assert.ok(o.elapsed >= 0.9, `ran after ${o.elapsed}s`);
    });

    it('a task that retries itself: the Python caller gets the final result', () => {
      assert.equal(pyCall({ task: 'proj.tasks.flaky', args: [2] }).result, 2);
    });

    it('a chain built in Python runs through the celeryts worker', () => {
      const o = pyCall({
        chain: [
          ['proj.tasks.add', [2, 2]],
          ['proj.tasks.add', [4]],
          ['proj.tasks.mul', [10]],
        ],
      });
      assert.equal(o.result, 80);
    });

    it('a failing task raises the exception type and message on the Python side', () => {
      const o = pyCall({ task: 'proj.tasks.fail', args: ['boom from ts'] });
      assert.equal(o.status, 'FAILURE');
      assert.equal(o.exc_type, 'TypeError');
      assert.equal(o.message, 'boom from ts');
    });

    it('an unknown task raises NotRegistered on the Python side', () => {
      const o = pyCall({ task: 'proj.tasks.nope', args: [] });
      assert.equal(o.exc_type, 'NotRegistered');
      assert.match(o.message ?? '', /proj\.tasks\.nope/);
    });

    it('celery inspect ping and registered (Python CLI) list the celeryts worker', () => {
      const ping = py(['-m', 'celery', '-A', 'proj', 'inspect', 'ping', '-d', node, '-t', '3']);
      assert.match(ping.stdout, new RegExp(`->  ${node}: OK`));
      assert.match(ping.stdout, /pong/);
      const reg = py(['-m', 'celery', '-A', 'proj', 'inspect', 'registered', '-d', node, '-t', '3']);
      assert.match(reg.stdout, /\* proj\.tasks\.add/);
      assert.match(reg.stdout, /\* proj\.tasks\.hello/);
    });

    it('celery control add_consumer / cancel_consumer and inspect active_queues (Python CLI) drive the celeryts worker', async () => {
      const extra = `${TS_QUEUE}.extra`;
      const celery = (...args: string[]) => py(['-m', 'celery', '-A', 'proj', ...args, '-d', node, '-t', '3']);
      try {
        assert.match(celery('control', 'add_consumer', extra).stdout, new RegExp(`->  ${node}: OK\\n\\s+add consumer ${extra.replace(/\./g, '\\.')}`));
        const queues = py(['control.py', 'active_queues', '3']);
        const mine = (
          JSON.parse(queues.stdout) as Record<string, { name: string; exchange: { name: string; type: string }; routing_key: string; durable: boolean }[]>
        )[node];
        assert.deepEqual(
          mine?.map((q) => [q.name, q.exchange.name, q.exchange.type, q.routing_key, q.durable]),
          [
            [TS_QUEUE, TS_QUEUE, 'direct', TS_QUEUE, true],
            [extra, extra, 'direct', extra, true],
          ],
        );
        assert.equal(pyCall({ task: 'proj.tasks.add', args: [20, 22], queue: extra }).result, 42);
        assert.match(celery('control', 'cancel_consumer', extra).stdout, /no longer consuming from/);
        const after = JSON.parse(py(['control.py', 'active_queues', '3']).stdout) as Record<string, { name: string }[]>;
        assert.deepEqual(
          after[node]?.map((q) => q.name),
          [TS_QUEUE],
        );
      } finally {
        const app = await createApp({ brokerUrl: brokerUrl, logLevel: 'silent', setAsCurrent: false });
        await (await app.broker()).deleteQueue(extra).catch(() => undefined);
        await app.close();
      }
    });
  });

  describe(`celeryts client -> Python Celery worker (${label})`, () => {
    let py: ChildProcess;
    let pyOut = '';
    const node = `py-${run}@interop`;
    before(async () => {
      // Without mingle and gossip the Python worker talks to no other worker on the broker: test files run side by side.
      py = spawn(PY, ['-m', 'celery', '-A', 'proj', 'worker', '-Q', PY_QUEUE, '-n', node, '-P', 'solo', '-l', 'INFO', '--without-mingle', '--without-gossip'], {
        cwd: PYDIR,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      py.stdout!.on('data', (d: Buffer) => (pyOut += d.toString()));
      py.stderr!.on('data', (d: Buffer) => (pyOut += d.toString()));
      await eventually(() => /ready\./.test(pyOut), 30_000, 'python worker ready').catch((err: Error) => {
        throw new Error(`${err.message}\n${pyOut}`);
      });
    });
    after(async () => {
      py.kill('SIGTERM');
      await new Promise((r) => py.once('exit', r));
    });

    it('celeryts call gets add(2, 3) = 5 from the Python worker', () => {
      const r = cli(['call', 'proj.tasks.add', '2', '3', '-Q', PY_QUEUE, '--wait', '--timeout', '15'], { env });
      assert.equal(r.status, 0, r.stderr + pyOut);
      assert.equal(r.stdout.trim().split('\n')[1], '5');
    });

    it('kwargs reach the Python task', () => {
      const r = cli(['call', 'proj.tasks.mul', '--args', '[6]', '--kwargs', '{"y": 7}', '-Q', PY_QUEUE, '--wait', '--timeout', '15'], { env });
      assert.equal(r.stdout.trim().split('\n')[1], '42', r.stderr);
    });

    it('a Python task that retries itself: celeryts gets the final result', () => {
      const r = cli(['call', 'proj.tasks.flaky', '2', '-Q', PY_QUEUE, '--wait', '--timeout', '15'], { env });
      assert.equal(r.stdout.trim().split('\n')[1], '2', r.stderr + pyOut);
    });

    it('a chain built in celeryts runs through the Python worker', async () => {
      const app = await createApp({ brokerUrl: brokerUrl, logLevel: 'silent' });
      try {
        const sig = (args: unknown[]) => new Signature<number>('proj.tasks.add', args, {}, { queue: PY_QUEUE });
        const r = await chain(sig([2, 2]), sig([4]), new Signature<number>('proj.tasks.mul', [10], {}, { queue: PY_QUEUE })).applyAsync();
        assert.equal(await r.get({ timeout: 15 }), 80);
      } finally {
        await app.close();
      }
    });

    it("a Python failure reaches celeryts as the exception's type and message", () => {
      const r = cli(['call', 'proj.tasks.fail', 'boom from py', '-Q', PY_QUEUE, '--wait', '--timeout', '15'], { env });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^ValueError: boom from py/m);
    });

    it('countdown: the Python worker runs it no earlier than asked', () => {
      const started = Date.now();
      const r = cli(['call', 'proj.tasks.add', '20', '22', '-Q', PY_QUEUE, '--countdown', '2', '--wait', '--timeout', '20'], { env });
      assert.equal(r.status, 0, r.stderr + pyOut);
      assert.equal(r.stdout.trim().split('\n')[1], '42');
      assert.ok(Date.now() - started >= 1900, `result after ${Date.now() - started} ms, countdown 2 s`);
    });

    it('a task the Python worker does not know reaches celeryts as NotRegistered', () => {
      const r = cli(['call', 'proj.tasks.no_such_task', '-Q', PY_QUEUE, '--wait', '--timeout', '15'], { env });
      assert.equal(r.status, 1, r.stdout + r.stderr + pyOut);
      assert.match(r.stderr, /NotRegistered/);
    });

    it('celeryts control rate_limit and ping reach the Python worker, which answers', () => {
      const r = cli(['control', 'rate_limit', 'proj.tasks.add', '100/m', '-d', node, '--json', '--timeout', '3'], { env });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { [node]: { ok: 'new rate limit set successfully' } });
      const ping = cli(['control', 'ping', '-d', node, '--json', '--timeout', '3'], { env });
      assert.deepEqual(JSON.parse(ping.stdout), { [node]: { ok: 'pong' } });
    });

    it('celeryts inspect registered lists the Python worker', () => {
      const r = cli(['inspect', 'registered', '-d', node, '--timeout', '3'], { env });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`->  ${node}: OK`));
      assert.match(r.stdout, /\* proj\.tasks\.add/);
      const ping = cli(['inspect', 'ping', '-d', node, '--json', '--timeout', '3'], { env });
      assert.deepEqual(JSON.parse(ping.stdout), { [node]: { ok: 'pong' } });
    });
  });
}
