/**
 * Celery events and monitoring: celeryts workers with -E publish Celery's events (checked by a
 * Python Celery receiver and against the captured fixture), `celeryts events` shows Python and
 * celeryts workers alike, and inspect/control report what `celery inspect/control` report.
 * RabbitMQ for the interop parts, the file broker for one celeryts-only round trip.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApp, TaskRevokedError, type App } from 'celeryts';
import { ClusterState, EventReceiver } from '../../src/client/event-receiver.js';
import { Dumper, pyUtcTime, renderScreen } from '../../src/cli/events-command.js';
import type { Broker, OutgoingMessage } from '../../src/core/broker.js';
import { EventDispatcher } from '../../src/client/event-dispatcher.js';
import { argsRepr, excRepr, safeRepr } from '../../src/core/wire/py-repr.js';
import { receivedFields, taskEventListeners } from '../../src/worker/events/task-events.js';
import type { Job } from '../../src/worker/job.js';
import { BIN, cli, eventually, spawnWorker, startInProcess, tempBrokerUrl, type WorkerProcess } from '../support/harness.js';
import { protocolFixture, REPO } from '../support/helpers.js';

const AMQP = process.env['CELERYTS_TEST_AMQP_URL'] ?? process.env['CELERYTS_BROKER_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672//';
const PY = '/usr/bin/python3';
const PYDIR = path.join(REPO, 'test', 'interop', 'py');
const run = randomUUID().slice(0, 8);
const env = { CELERYTS_BROKER_URL: AMQP, BROKER_URL: AMQP };

type Ev = Record<string, unknown> & { type: string };

/** A child process whose stdout lines (and stderr text) we keep. */
interface Child {
  child: ChildProcess;
  lines: string[];
  stderr(): string;
  exited: Promise<number | null>;
}

function start(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Child {
  const child = spawn(cmd, args, { cwd: options.cwd ?? REPO, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, stderr: () => err, exited };
}

/** A Python Celery event receiver (app.events.Receiver + app.events.State) printing JSON lines. */
const PY_RECEIVER = `
import copy, json
from proj.celery import app
state = app.events.State()
def on_event(ev):
    raw = copy.deepcopy(ev)
    state.event(ev)
    out = {"event": raw}
    if raw["type"].startswith("task-") and "uuid" in raw:
        t = state.tasks.get(raw["uuid"])
        out["task_state"] = t.state if t else None
        out["task_name"] = t.name if t else None
    w = state.workers.get(raw.get("hostname"))
    out["worker_alive"] = w.alive if w else None
    print(json.dumps(out), flush=True)
class Receiver(app.events.Receiver):
    def on_consume_ready(self, *args, **kwargs):
        print(json.dumps({"ready": True}), flush=True)
        super().on_consume_ready(*args, **kwargs)
with app.connection() as conn:
    Receiver(conn, handlers={"*": on_event}).capture(limit=None, timeout=None, wakeup=True)
`;

interface PyLine {
  event: Ev;
  task_state?: string | null;
  task_name?: string | null;
  worker_alive: boolean | null;
  raw: string;
}

function pyLines(c: Child): PyLine[] {
  return c.lines.filter((l) => l.startsWith('{"event"')).map((l) => ({ ...(JSON.parse(l) as Omit<PyLine, 'raw'>), raw: l }));
}

/** The CLI without blocking this process (an in-process worker must answer meanwhile). */
async function cliAsync(args: string[], childEnv: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const c = start(process.execPath, [BIN, ...args], { env: childEnv });
  const code = await c.exited;
  return { code, stdout: c.lines.join('\n'), stderr: c.stderr() };
}

async function stopChild(c: Child | undefined): Promise<number | null> {
  if (!c) return null;
  if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
  return c.exited;
}

describe('events and monitoring with Python Celery on RabbitMQ', () => {
  const TS_QUEUE = `events.ts.${run}`;
  const PY_QUEUE = `events.py.${run}`;
  const tsNode = `ts-ev-${run}@events`;
  const pyNode = `py-ev-${run}@events`;
  let pyRecv: Child;
  let tsDump: Child;
  let pyWorker: Child;
  let worker: WorkerProcess;
  let client: App;

  before(async () => {
    pyRecv = start(PY, ['-c', PY_RECEIVER], { cwd: PYDIR, env });
    tsDump = start(process.execPath, [BIN, 'events', '--dump'], { env });
    await eventually(() => pyRecv.lines.includes('{"ready": true}'), 20_000, 'python receiver').catch((e: Error) => {
      throw new Error(`${e.message}: ${pyRecv.stderr()}`);
    });
    await eventually(() => tsDump.lines.includes('-> evdump: starting capture...'), 10_000, 'celeryts events --dump');
    pyWorker = start(
      PY,
      ['-m', 'celery', '-A', 'proj', 'worker', '-E', '-Q', PY_QUEUE, '-n', pyNode, '-P', 'solo', '-l', 'INFO', '--without-mingle', '--without-gossip'],
      { cwd: PYDIR, env },
    );
    [worker, client] = await Promise.all([
      spawnWorker(['-E', '-Q', TS_QUEUE, '-n', tsNode, '-c', '2'], { env }),
      createApp({ cwd: REPO, brokerUrl: AMQP, logLevel: 'silent', setAsCurrent: false }),
    ]);
  });

  after(async () => {
    worker?.child.kill('SIGTERM');
    await Promise.all([worker?.exited, stopChild(pyWorker), stopChild(pyRecv), stopChild(tsDump), client?.close()]);
  });

  const fromTs = (type: string) => pyLines(pyRecv).filter((l) => l.event.hostname === tsNode && l.event.type === type);

  it('a Python receiver sees worker-online and heartbeats from a celeryts -E worker, shaped as Celery sends them', async () => {
    await eventually(() => fromTs('worker-online').length && fromTs('worker-heartbeat').length, 8000, 'online and a heartbeat');
    const online = fromTs('worker-online')[0]!;
    const fixture = protocolFixture<{ events: { body: Ev }[] }>('events').events[0]!.body;
    assert.deepEqual(
      Object.keys(online.event).filter((k) => k !== 'local_received'),
      Object.keys(fixture),
      'the fixture keys, in order',
    );
    assert.equal(online.event['sw_ident'], 'celeryts');
    assert.equal(typeof online.event['clock'], 'number');
    assert.match(online.raw, /"freq": 2\.0/, 'freq is a float, as Python sends it');
    assert.equal(online.worker_alive, true, "Python's State counts the worker alive");
    const beat = fromTs('worker-heartbeat').at(-1)!;
    assert.ok((beat.event['clock'] as number) > (online.event['clock'] as number), 'the Lamport clock moves forward');
    assert.equal((beat.event['loadavg'] as number[]).length, 3);
  });

  it('task-received/started/succeeded/failed reach Python with the right uuid, name, args and outcome', async () => {
    const ok = await client.sendTask('proj.tasks.add', [2, 3], {}, { queue: TS_QUEUE });
    const bad = await client.sendTask('proj.tasks.fail', ['boom'], {}, { queue: TS_QUEUE });
    assert.equal(await ok.get({ timeout: 10 }), 5);
    await assert.rejects(bad.get({ timeout: 10 }));
    const forTask = (id: string, type: string) => fromTs(type).find((l) => l.event['uuid'] === id);
    await eventually(() => forTask(ok.id, 'task-succeeded') && forTask(bad.id, 'task-failed'), 5000, 'task events');
    const received = forTask(ok.id, 'task-received')!;
    assert.deepEqual(
      {
        name: received.event['name'],
        args: received.event['args'],
        kwargs: received.event['kwargs'],
        root_id: received.event['root_id'],
        retries: received.event['retries'],
      },
      { name: 'proj.tasks.add', args: '(2, 3)', kwargs: '{}', root_id: ok.id, retries: 0 },
    );
    assert.ok(forTask(ok.id, 'task-started'));
    const succeeded = forTask(ok.id, 'task-succeeded')!;
    assert.equal(succeeded.event['result'], '5');
    assert.equal(typeof succeeded.event['runtime'], 'number');
    assert.deepEqual([succeeded.task_state, succeeded.task_name], ['SUCCESS', 'proj.tasks.add']);
    const failed = forTask(bad.id, 'task-failed')!;
    assert.equal(failed.event['exception'], "TypeError('boom')");
    assert.match(String(failed.event['traceback']), /TypeError: boom/);
    assert.equal(failed.task_state, 'FAILURE');
  });

  it("celeryts events --dump shows the Python worker's events, the celeryts worker's, and task-sent from call --send-event", async () => {
    await eventually(() => /ready\./.test(pyWorker.stderr() + pyWorker.lines.join('\n')), 20_000, 'python worker ready');
    const r = cli(['call', 'proj.tasks.add', '2', '3', '-Q', PY_QUEUE, '--wait', '--timeout', '15', '--send-event'], { env });
    assert.equal(r.status, 0, r.stderr);
    const id = r.stdout.split('\n')[0]!;
    const has = (re: RegExp) => tsDump.lines.some((l) => re.test(l));
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    await eventually(
      () => has(new RegExp(`^${esc(pyNode)} \\[.+\\] task succeeded: proj\\.tasks\\.add\\(${id}\\) args=\\(2, 3\\) kwargs=\\{\\} .*result=5`)),
      8000,
      'python task succeeded line',
    );
    assert.ok(
      has(
        new RegExp(
          `^gen\\d+@\\S+ \\[.+\\] task sent: proj\\.tasks\\.add\\(${id}\\) args=\\(2, 3\\) kwargs=\\{\\} .*queue=${esc(PY_QUEUE)}.*routing_key=${esc(PY_QUEUE)}`,
        ),
      ),
      'task sent line',
    );
    assert.ok(has(new RegExp(`^${esc(pyNode)} \\[.+\\] task received: proj\\.tasks\\.add\\(${id}\\)`)));
    await eventually(
      () => has(new RegExp(`^${esc(pyNode)} \\[[\\d :.-]+\\] heartbeat: active=0, clock=\\d+, freq=2\\.0, .*sw_ident=py-celery`)),
      5000,
      'python heartbeat line',
    );
    assert.ok(
      has(new RegExp(`^${esc(tsNode)} \\[[\\d :.-]+\\] heartbeat: active=\\d+, clock=\\d+, freq=2\\.0, .*sw_ident=celeryts`)),
      'celeryts heartbeat line',
    );
    assert.ok(
      has(new RegExp(`^${esc(tsNode)} \\[.+\\] task succeeded: proj\\.tasks\\.add\\(.+\\) args=\\(2, 3\\) kwargs=\\{\\} .*result=5`)),
      'celeryts task line',
    );
  });

  it("inspect stats reports every field a Python worker's stats has, plus rejected counts, and no password", async () => {
    const r = cli(['inspect', 'stats', '-d', tsNode, '--json', '--timeout', '3'], { env });
    assert.equal(r.status, 0, r.stderr);
    const ts = (JSON.parse(r.stdout) as Record<string, Record<string, any>>)[tsNode]!;
    const py = spawnSync(PY, ['control.py', 'stats', '3'], { cwd: PYDIR, env: { ...process.env, ...env }, encoding: 'utf8' });
    const pyStats = (JSON.parse(py.stdout) as Record<string, Record<string, any>>)[pyNode]!;
    assert.ok(pyStats, py.stderr);
    for (const key of Object.keys(pyStats)) assert.ok(key in ts, `stats.${key}`);
    for (const part of ['pool', 'broker', 'rusage']) {
      for (const key of Object.keys(pyStats[part])) assert.ok(key in ts[part], `stats.${part}.${key}`);
    }
    assert.equal(ts['total']['proj.tasks.add'], 1);
    assert.equal(ts['pool']['max-concurrency'], 2);
    assert.equal(ts['prefetch_count'], 8);
    // Both workers use CELERYTS_TEST_AMQP_URL, whatever vhost it names.
    assert.deepEqual(
      [ts['broker']['hostname'], ts['broker']['userid'], ts['broker']['virtual_host']],
      [pyStats['broker']['hostname'], 'guest', pyStats['broker']['virtual_host']],
    );
    assert.ok('rejected' in ts && typeof ts['uptime'] === 'number' && ts['pid'] === worker.child.pid);
    assert.doesNotMatch(r.stdout, /guest:guest|password/);
  });

  it('inspect active lists a running task with the fields Celery prints', async () => {
    // The task runs until it is terminated, so a slow `inspect` (a Node start under load) still finds it running.
    const r = await client.sendTask('proj.tasks.sleep', [600], {}, { queue: TS_QUEUE });
    try {
      const active = (await eventually(
        () => {
          const out = cli(['inspect', 'active', '-d', tsNode, '--json', '--timeout', '2'], { env });
          const list = (JSON.parse(out.stdout || '{}') as Record<string, Record<string, unknown>[]>)[tsNode] ?? [];
          return list.find((t) => t['id'] === r.id);
        },
        30_000,
        'active task',
      ))!;
      assert.deepEqual(Object.keys(active).sort(), [
        'acknowledged',
        'args',
        'delivery_info',
        'hostname',
        'id',
        'kwargs',
        'name',
        'time_start',
        'type',
        'worker_pid',
      ]);
      assert.deepEqual([active['name'], active['args'], active['hostname'], active['acknowledged']], ['proj.tasks.sleep', [600], tsNode, true]);
      assert.equal(typeof active['time_start'], 'number');
      const text = cli(['inspect', 'active', '-d', tsNode, '--timeout', '2'], { env });
      assert.match(text.stdout, new RegExp(`^    \\* \\{'id': '${r.id}', 'name': 'proj\\.tasks\\.sleep', 'args': \\[600\\], 'kwargs': \\{\\}`, 'm'));
    } finally {
      const control = await client.control();
      await control.broadcast('revoke', { task_id: r.id, terminate: true }, { destination: [tsNode], timeout: 2 });
    }
    await assert.rejects(r.get({ timeout: 10 }), TaskRevokedError);
  });

  it('control rate_limit changes the limit: inspect registered shows it and tasks are held back', async () => {
    const set = cli(['control', 'rate_limit', 'proj.tasks.add', '2/s', '-d', tsNode, '--timeout', '2'], { env });
    assert.match(set.stdout, new RegExp(`->  ${tsNode}: OK\\n        new rate limit set successfully`));
    const unknown = cli(['control', 'rate_limit', 'proj.tasks.nope', '2/s', '-d', tsNode, '--timeout', '2'], { env });
    assert.match(unknown.stdout, /ERROR\n {8}unknown task/);
    const reg = cli(['inspect', 'registered', '-d', tsNode, '--timeout', '2'], { env });
    assert.match(reg.stdout, /^ {4}\* proj\.tasks\.add \[rate_limit=2\/s\]$/m);
    const t0 = Date.now();
    const results = await Promise.all([1, 2, 3].map((n) => client.sendTask('proj.tasks.add', [n, n], {}, { queue: TS_QUEUE })));
    await Promise.all(results.map((x) => x.get({ timeout: 10 })));
    assert.ok(Date.now() - t0 >= 800, `3 tasks at 2/s took ${Date.now() - t0} ms`);
    const off = cli(['control', 'rate_limit', 'proj.tasks.add', '0', '-d', tsNode, '--timeout', '2'], { env });
    assert.match(off.stdout, /rate limit disabled successfully/);
  });

  it('control revoke makes a later task with that id REVOKED, and monitors see task-revoked', async () => {
    const id = randomUUID();
    const r = cli(['control', 'revoke', id, '-d', tsNode, '--timeout', '2'], { env });
    assert.match(r.stdout, new RegExp(`tasks ${id} flagged as revoked`));
    const result = await client.sendTask('proj.tasks.add', [1, 2], {}, { queue: TS_QUEUE, taskId: id });
    await assert.rejects(result.get({ timeout: 10 }), TaskRevokedError);
    await eventually(() => fromTs('task-revoked').find((l) => l.event['uuid'] === id), 5000, 'task-revoked');
    const ev = fromTs('task-revoked').find((l) => l.event['uuid'] === id)!;
    assert.deepEqual([ev.event['terminated'], ev.event['expired'], ev.task_state], [false, false, 'REVOKED']);
  });

  it('control shutdown stops the worker; worker-offline reaches Python and celeryts events', async () => {
    const r = cli(['control', 'shutdown', '-d', tsNode], { env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(await worker.exited, 0);
    await eventually(() => fromTs('worker-offline').length, 5000, 'worker-offline');
    assert.equal(fromTs('worker-offline')[0]!.worker_alive, false);
    await eventually(() => tsDump.lines.some((l) => l.startsWith(`${tsNode} [`) && / shutdown: /.test(l)), 5000, 'shutdown line');
    assert.equal(await stopChild(tsDump), 0, 'celeryts events exits 0 on SIGTERM');
  });
});

describe('events on the file broker (celeryts only)', () => {
  it('a worker with sendEvents feeds celeryts events --json and the line view; inspect stats names the transport', async () => {
    const brokerUrl = tempBrokerUrl();
    const fileEnv = { CELERYTS_BROKER_URL: brokerUrl };
    const w = await startInProcess({ brokerUrl, config: { sendEvents: true, concurrency: 2 } });
    const json = start(process.execPath, [BIN, 'events', '--json'], { env: fileEnv });
    const lines = start(process.execPath, [BIN, 'events'], { env: fileEnv });
    try {
      const events = () => json.lines.filter(Boolean).map((l) => JSON.parse(l) as Ev);
      // The receiver asks for a heartbeat when it starts, so one arrives at once.
      await eventually(() => events().some((e) => e.type === 'worker-heartbeat' && e['hostname'] === w.worker.nodeName), 8000, 'heartbeat');
      await eventually(() => lines.lines.some((l) => l.includes(`worker ${w.worker.nodeName} online`)), 5000, 'worker line');
      const r = await w.client.sendTask('app.jobs.add', [2, 3]);
      assert.equal(await r.get({ timeout: 10 }), 5);
      await eventually(() => events().some((e) => e.type === 'task-succeeded' && e['uuid'] === r.id), 5000, 'task-succeeded');
      assert.deepEqual(
        events()
          .filter((e) => e['uuid'] === r.id)
          .map((e) => e.type),
        ['task-received', 'task-started', 'task-succeeded'],
      );
      await eventually(
        () => lines.lines.some((l) => new RegExp(`task ${r.id} app\\.jobs\\.add SUCCESS on ${w.worker.nodeName} in `).test(l)),
        5000,
        'task line',
      );
      const stats = await cliAsync(['inspect', 'stats', '--json', '--timeout', '2'], fileEnv);
      const reply = (JSON.parse(stats.stdout) as Record<string, Record<string, any>>)[w.worker.nodeName]!;
      assert.ok(reply, stats.stdout + stats.stderr);
      assert.equal(reply['broker']['transport'], 'file');
      assert.equal(reply['total']['app.jobs.add'], 1);
      await w.stop();
      await eventually(() => events().some((e) => e.type === 'worker-offline' && e['hostname'] === w.worker.nodeName), 5000, 'worker-offline');
    } finally {
      await w.stop();
      assert.equal(await stopChild(json), 0);
      assert.equal(await stopChild(lines), 0);
    }
  });
});

describe('event units', () => {
  it('Python reprs: tuples, quotes, nesting, cycles and a size bound', () => {
    assert.equal(argsRepr([2, 3]), '(2, 3)');
    assert.equal(argsRepr(['a']), "('a',)");
    assert.equal(argsRepr([]), '()');
    assert.equal(safeRepr({ a: [1, null, true], b: "it's" }), `{'a': [1, None, True], 'b': "it's"}`);
    assert.equal(excRepr(new TypeError('can only concatenate str (not "int") to str')), `TypeError('can only concatenate str (not "int") to str')`);
    const cyclic: unknown[] = [1];
    cyclic.push(cyclic);
    assert.equal(safeRepr(cyclic), '[1, [...]]');
    const big = safeRepr(Array.from({ length: 100_000 }, (_, i) => i));
    assert.ok(big.length <= 1024 && big.endsWith('...'));
  });

  it('event fields match the events Python Celery 5.2.6 sent, key for key', () => {
    const fixture = protocolFixture<{ events: { body: Ev | Ev[] }[] }>('events').events.flatMap((f) => (Array.isArray(f.body) ? f.body : [f.body]));
    const byType = new Map<string, Ev>();
    for (const ev of fixture) if (!byType.has(ev.type)) byType.set(ev.type, ev);
    const envelope = new EventDispatcher({} as Broker, { hostname: 'pyworker@vm' });
    const ours: Ev[] = [];
    const capture = { send: (type: string, fields: Record<string, unknown>) => void ours.push(envelope.event(type, fields)) } as unknown as EventDispatcher;
    const on = taskEventListeners(capture);
    const job = {
      msg: {
        id: 'u1',
        task: 'proj.tasks.add',
        args: [2, 3],
        kwargs: {},
        argsrepr: null,
        kwargsrepr: null,
        rootId: 'u1',
        parentId: null,
        retries: 0,
        eta: null,
        expires: null,
      },
    } as unknown as Job;
    on['task-received']!(job);
    on['task-started']!(job);
    on['task-succeeded']!(job, 5, 8.3);
    on['task-failed']!(job, new TypeError('x'), 'TypeError: x\n    at ...');
    assert.deepEqual(
      ours.map((e) => e.type),
      ['task-received', 'task-started', 'task-succeeded', 'task-failed'],
    );
    for (const ev of ours) assert.deepEqual(Object.keys(ev), Object.keys(byType.get(ev.type)!), ev.type);
    assert.equal(receivedFields(job)['args'], '(2, 3)');
    assert.deepEqual([ours[2]!['result'], ours[2]!['runtime'], ours[3]!['exception']], ['5', 0.0083, "TypeError('x')"]);
  });

  it('the dispatcher batches task events into one task.multi publish, sends worker events alone, never throws', async () => {
    const published: { key: string; message: OutgoingMessage }[] = [];
    const fakeBroker = (publish: (key: string, message: OutgoingMessage) => Promise<void>) =>
      ({ declareExchange: () => Promise.resolve(), publish: (_x: string, key: string, m: OutgoingMessage) => publish(key, m) }) as unknown as Broker;
    const d = new EventDispatcher(
      fakeBroker((key, message) => {
        published.push({ key, message });
        return Promise.resolve();
      }),
      { hostname: 'w@h', flushMs: 5 },
    );
    assert.equal(await d.start(), true);
    for (let i = 0; i < 3; i++) d.send('task-started', { uuid: `t${i}` });
    d.send('worker-heartbeat', { freq: 2, active: 0 });
    assert.deepEqual(
      published.map((p) => p.key),
      ['worker.heartbeat'],
    );
    assert.match(published[0]!.message.body.toString(), /"freq":2\.0/);
    assert.deepEqual([published[0]!.message.headers, published[0]!.message.properties.deliveryMode], [{ hostname: 'w@h' }, 1]);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      published.map((p) => p.key),
      ['worker.heartbeat', 'task.multi'],
    );
    const batch = JSON.parse(published[1]!.message.body.toString()) as Ev[];
    assert.deepEqual(
      batch.map((e) => [e['uuid'], e['clock'], e.type]),
      [
        ['t0', 1, 'task-started'],
        ['t1', 2, 'task-started'],
        ['t2', 3, 'task-started'],
      ],
    );

    const stuck = new EventDispatcher(
      fakeBroker(() => new Promise<void>(() => undefined)),
      { maxInFlight: 2 },
    );
    await stuck.start();
    for (let i = 0; i < 5; i++) stuck.send('worker-heartbeat', {});
    assert.equal(stuck.dropped, 3, 'beyond maxInFlight, events are dropped');
    const closed = new EventDispatcher(
      fakeBroker(() => {
        throw new Error('closed');
      }),
    );
    await closed.start();
    assert.doesNotThrow(() => closed.send('worker-heartbeat', {}));
    assert.equal(closed.dropped, 1);
  });

  it('the cluster state, the dump line and the live screen', () => {
    const r = new EventReceiver({} as Broker);
    const state = new ClusterState();
    const fixture = protocolFixture<{ events: { body: Ev | Ev[] }[] }>('events').events.flatMap((f) => (Array.isArray(f.body) ? f.body : [f.body]));
    const dumper = new Dumper();
    const dumped = fixture.map((e) => {
      const local = r.localize(e);
      state.update(local);
      return dumper.line({ ...e, local_received: 1 });
    });
    assert.equal(
      dumped[3],
      `pyworker@vm [${pyUtcTime(1795509797.4099169)}] task received: proj.tasks.add(d057fced-13fd-4cf5-a73d-597e5c4ad78b) args=(2, 3) kwargs={} clock=7, eta=None, expires=None, local_received=1.0, parent_id=None, pid=12048, retries=0, root_id=d057fced-13fd-4cf5-a73d-597e5c4ad78b, utcoffset=0`,
    );
    assert.equal(pyUtcTime(1795509797.4099169), '2026-11-24 08:43:17.409917');
    assert.match(
      dumped[5]!,
      /task succeeded: proj\.tasks\.add\(d057fced-.+\) args=\(2, 3\) kwargs=\{\} clock=9, local_received=1\.0, pid=12048, result=5, runtime=0\.008/,
    );
    assert.match(dumped[0]!, /^pyworker@vm \[.+\] started: active=0, clock=1, freq=2\.0, loadavg=\[0\.17, 0\.21, 0\.14\], local_received=1\.0, pid=12048/);
    const w = state.workers.get('pyworker@vm')!;
    assert.equal(state.status(w, w.lastHeartbeat! + 1), 'online');
    assert.equal(state.status(w, w.lastHeartbeat! + 60), 'lost');
    assert.deepEqual(
      state.recentTasks(5).map((t) => [t.name, t.state]),
      [
        ['proj.tasks.add', 'FAILURE'],
        ['proj.tasks.add', 'SUCCESS'],
      ],
    );
    state.update(r.localize({ type: 'worker-offline', hostname: 'pyworker@vm', timestamp: 1 }));
    assert.equal(state.status(w), 'offline');
    const screen = renderScreen(state, 'header', 200, 20).split('\n');
    assert.ok(screen.some((l) => l.startsWith('pyworker@vm') && / offline /.test(l)));
    assert.ok(screen.some((l) => l.startsWith('28682078-0114-4833-bd6d-55b5171c13c7 proj.tasks.add') && /FAILURE/.test(l)));
    assert.ok(renderScreen(state, 'h', 200, 6).split('\n').length <= 6, 'fits the terminal');
  });
});
