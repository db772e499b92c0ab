/**
 * Interop with Python Celery 5.2 / kombu 5.2 on Redis: the shared interop suite, then what only
 * Redis has: kombu's priority lists read by both sides, `celery events --dump` watching a
 * celeryts worker over publish/subscribe, and each side restoring (visibility timeout) what a
 * SIGKILLed worker of the other side held.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createApp } from 'celeryts';
import type { Delivery } from '../../src/core/broker.js';
import { createRedisBroker } from '../../src/transport/redis/redis-broker.js';
import { eventually, spawnWorker } from '../support/harness.js';
import { REPO, tempDir, testRedisUrl } from '../support/helpers.js';
import { PY, PYDIR, python, runInteropSuite } from '../support/interop-suite.js';

const url = testRedisUrl();
runInteropSuite('Redis', url);

const run = randomUUID().slice(0, 8);
const VT = 2; // visibility timeout (s) of both sides in the restore tests

/** A celeryts config with a short visibility timeout. */
function shortVisibilityConfig(): string {
  const file = path.join(tempDir('vt-'), 'celeryts.config.json');
  writeFileSync(file, JSON.stringify({ root: path.join(REPO, 'tasks-example'), imports: ['proj.tasks'], brokerTransportOptions: { visibilityTimeout: VT } }));
  return file;
}

/** A Python worker; resolves once it is ready. */
async function pythonWorker(queue: string, node: string, extraEnv: NodeJS.ProcessEnv): Promise<{ proc: ChildProcess; out: () => string }> {
  let out = '';
  const proc = spawn(PY, ['-m', 'celery', '-A', 'proj', 'worker', '-Q', queue, '-n', node, '-P', 'solo', '-l', 'INFO'], {
    cwd: PYDIR,
    env: { ...process.env, BROKER_URL: url, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(() => /ready\./.test(out), 30_000, 'python worker ready').catch((err: Error) => {
    throw new Error(`${err.message}\n${out}`);
  });
  return { proc, out: () => out };
}

const exited = (p: ChildProcess): Promise<unknown> =>
  p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r));

describe('Redis wire layout shared with kombu', () => {
  it('priorities: kombu publishes 9, 0, 5 and a celeryts consumer takes 0, 5, 9 (on Redis 0 comes first)', async () => {
    const q = `interop.prio.${run}`;
    const put = python(url, ['kombu_queue.py', 'put', q, JSON.stringify([9, 0, 5].map((p) => ({ body: `p${p}`, priority: p, headers: { n: p } })))]);
    assert.equal(put.status, 0, put.stderr);
    const b = createRedisBroker(url);
    await b.connect();
    try {
      const got: Delivery[] = [];
      await b.consume(q, { prefetch: 10 }, (d) => {
        got.push(d);
        d.ack();
      });
      await eventually(() => got.length === 3, 5000, 'three deliveries');
      assert.deepEqual(
        got.map((d) => [JSON.parse(d.body.toString()), d.properties.priority, d.headers['n'], d.properties.contentType]),
        [
          ['p0', 0, 0, 'application/json'],
          ['p5', 5, 5, 'application/json'],
          ['p9', 9, 9, 'application/json'],
        ],
      );
    } finally {
      await b.deleteQueue(q);
      await b.close();
    }
  });

  it('celeryts publishes with priorities 9, 0, 5; kombu takes them 0, 5, 9 with bodies and headers intact', async () => {
    const q = `interop.prio2.${run}`;
    const b = createRedisBroker(url);
    await b.connect();
    try {
      await b.declareQueue(q);
      for (const p of [9, 0, 5]) {
        await b.publish('', q, {
          body: Buffer.from(JSON.stringify(`p${p}`)),
          headers: { n: p },
          properties: { contentType: 'application/json', contentEncoding: 'utf-8', priority: p },
        });
      }
      const r = python(url, ['kombu_queue.py', 'get', q, '3']);
      assert.equal(r.status, 0, r.stderr);
      const got = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { body: string; priority: number; headers: { n: number } });
      assert.deepEqual(
        got.map((g) => [g.body, g.priority, g.headers.n]),
        [
          ['p0', 0, 0],
          ['p5', 5, 5],
          ['p9', 9, 9],
        ],
      );
    } finally {
      await b.deleteQueue(q);
      await b.close();
    }
  });
});

describe('events and restores across languages on Redis', () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it("`celery events --dump` shows a celeryts worker's heartbeats and task events", async () => {
    const q = `interop.events.${run}`;
    const node = `ts-ev-${run}@interop`;
    const worker = await spawnWorker(['-Q', q, '-n', node, '-E'], { env: { CELERYTS_BROKER_URL: url } });
    cleanup.push(async () => {
      worker.child.kill('SIGTERM');
      await worker.exited;
    });
    let dump = '';
    const events = spawn(PY, ['-m', 'celery', '-A', 'proj', 'events', '--dump'], {
      cwd: PYDIR,
      env: { ...process.env, BROKER_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    events.stdout!.on('data', (d: Buffer) => (dump += d.toString()));
    cleanup.push(async () => {
      events.kill('SIGTERM');
      await exited(events);
    });
    await eventually(() => dump.includes('starting capture'), 15_000, 'celery events started');
    const app = await createApp({ brokerUrl: url, logLevel: 'silent', setAsCurrent: false });
    try {
      // Sent until the dump shows it: the subscription may start a moment after "starting capture".
      await eventually(
        async () => {
          const r = await app.sendTask<number>('proj.tasks.add', [20, 22], {}, { queue: q });
          assert.equal(await r.get({ timeout: 10 }), 42);
          await new Promise((res) => setTimeout(res, 300));
          return dump.includes('task succeeded: proj.tasks.add');
        },
        20_000,
        `celery events --dump to show the task:\n${dump}`,
      );
    } finally {
      await app.close();
    }
    await eventually(() => new RegExp(`${node.replace(/[.@]/g, '\\$&')} \\[[^\\]]+\\] heartbeat`).test(dump), 10_000, `a heartbeat of ${node}:\n${dump}`);
    assert.match(dump, /task received: proj\.tasks\.add\([0-9a-f-]+\) args=[[(]20, 22[\])]/);
    assert.match(dump, /task started: proj\.tasks\.add/);
  });

  it('a Python worker restores the messages a SIGKILLed celeryts worker held (visibility timeout)', async () => {
    const q = `interop.restore-py.${run}`;
    const node = `ts-rs-${run}@interop`;
    const worker = await spawnWorker(['-Q', q, '-n', node, '-c', '1', '--config', shortVisibilityConfig()], { env: { CELERYTS_BROKER_URL: url } });
    const app = await createApp({ brokerUrl: url, logLevel: 'silent', setAsCurrent: false });
    cleanup.push(() => app.close());
    await app.sendTask('proj.tasks.sleep', [60], {}, { queue: q }); // takes the only slot (acked early)
    const held = await app.sendTask<number>('proj.tasks.add', [2, 3], {}, { queue: q }); // reserved: unacked
    await eventually(() => /proj\.tasks\.add\[[^\]]+\] received/.test(worker.output()), 10_000, 'the celeryts worker to reserve add');
    worker.child.kill('SIGKILL');
    await worker.exited;
    await new Promise((r) => setTimeout(r, (VT + 1) * 1000)); // past the timeout, nobody keeps it fresh
    const py = await pythonWorker(q, `py-rs-${run}@interop`, { VISIBILITY_TIMEOUT: String(VT) });
    cleanup.push(async () => {
      py.proc.kill('SIGTERM');
      await exited(py.proc);
    });
    assert.equal(await held.get({ timeout: 20 }), 5, py.out());
  });

  it('a celeryts worker restores the messages a SIGKILLed Python worker held (visibility timeout)', async () => {
    const q = `interop.restore-ts.${run}`;
    const py = await pythonWorker(q, `py-held-${run}@interop`, { VISIBILITY_TIMEOUT: String(VT), ACKS_LATE: '1' });
    const app = await createApp({ brokerUrl: url, logLevel: 'silent', setAsCurrent: false });
    cleanup.push(() => app.close());
    // Both sides have proj.tasks.sleep. The solo pool takes one message at a time: the running one.
    const held = await app.sendTask<number>('proj.tasks.sleep', [4], {}, { queue: q });
    await eventually(() => /proj\.tasks\.sleep\[[^\]]+\] received/.test(py.out()), 15_000, `the Python worker to start sleep:\n${py.out()}`);
    py.proc.kill('SIGKILL');
    await exited(py.proc);
    await new Promise((r) => setTimeout(r, (VT + 1) * 1000));
    const worker = await spawnWorker(['-Q', q, '-n', `ts-takes-${run}@interop`, '--config', shortVisibilityConfig()], { env: { CELERYTS_BROKER_URL: url } });
    cleanup.push(async () => {
      worker.child.kill('SIGTERM');
      await worker.exited;
    });
    assert.equal(await held.get({ timeout: 20 }), 4, worker.output());
    await eventually(() => /proj\.tasks\.sleep\[[^\]]+\] succeeded/.test(worker.output()), 3000, 'the celeryts worker to log it');
  });
});
