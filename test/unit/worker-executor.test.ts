/**
 * The executor alone (src/worker/executor.ts): acks, reported states, handlers, retries and
 * follow-up tasks for one job, with a fake result backend, a fake delivery and the async runner.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ResultBackend, ResultTarget } from '../../src/core/backend.js';
import { encodeTask, decodeTask, type TaskSendSpec } from '../../src/core/wire/task.js';
import type { SendOptions } from '../../src/core/send-options.js';
import { task, type Task } from '../../src/core/task.js';
import { AsyncRunner } from '../../src/worker/async-runner.js';
import { executeJob, type ExecutorContext } from '../../src/worker/executor.js';
import { Job } from '../../src/worker/job.js';
import { FakeDelivery } from '../support/fake-broker.js';
import { LogCapture } from '../support/log-capture.js';

interface Reported {
  id: string;
  state: string;
  result: unknown;
  traceback: string | null | undefined;
}

/** An executor context whose backend, sends and events are recorded; `order` interleaves them with acks. */
function fakeContext(options: { markState?: ResultBackend['markState']; timeLimit?: number } = {}) {
  const reported: Reported[] = [];
  const sent: { name: string; args: unknown[]; kwargs: Record<string, unknown>; options: SendOptions }[] = [];
  const events: string[] = [];
  const order: string[] = [];
  const logs = new LogCapture();
  const log = logs.logger('debug');
  const backend = {
    name: 'fake',
    markState(target: ResultTarget, state: string, result: unknown, traceback?: string | null) {
      reported.push({ id: target.id, state, result, traceback });
      order.push(`report ${state}`);
      return undefined;
    },
  } as unknown as ResultBackend;
  if (options.markState) backend.markState = options.markState;
  const ctx: ExecutorContext = {
    hostname: 'unit@test',
    backend,
    log,
    sendTask: async (name, args, kwargs, opts) => {
      sent.push({ name, args, kwargs, options: opts });
      return undefined;
    },
    runner: new AsyncRunner(log),
    timeLimit: options.timeLimit ?? null,
    softTimeLimit: null,
    emit: ((event: string) => void events.push(event)) as ExecutorContext['emit'],
  };
  return { ctx, reported, sent, events, order, logs };
}

let ids = 0;

/** A job for `t` as the worker would build it from a delivered message. */
function jobFor(t: Task<any, any>, spec: Partial<TaskSendSpec> = {}, opts: { acksLate?: boolean; ignoreResult?: boolean; order?: string[] } = {}) {
  const m = encodeTask({ id: `id-${++ids}`, task: t.name, replyTo: 'reply.q', ...spec });
  const delivery = new FakeDelivery(m.body, m.headers, m.properties, { routingKey: 'celery' });
  if (opts.order) {
    const { order } = opts;
    delivery.ack = function () {
      this.acks++;
      order.push('ack');
    };
  }
  return new Job(t, decodeTask(m.headers, m.properties, m.body), delivery, opts.acksLate ?? false, opts.ignoreResult ?? false);
}

describe('executor', () => {
  it('early acks: acked before the body runs, then SUCCESS with the return value; synchronous for a plain task', () => {
    const f = fakeContext();
    const t = task({ name: 'unit.add' }, (x: number, y: number) => {
      f.order.push('body');
      return x + y;
    });
    const job = jobFor(t, { args: [2, 3] }, { order: f.order });
    const running = executeJob(job, f.ctx);
    assert.equal(running, undefined, 'nothing to wait for');
    assert.deepEqual(f.order, ['ack', 'body', 'report SUCCESS']);
    assert.deepEqual(f.reported, [{ id: job.msg.id, state: 'SUCCESS', result: 5, traceback: null }]);
    assert.deepEqual(f.events, ['task-started', 'task-succeeded', 'task-finished']);
  });

  it('acks late: acked after the body and the result, also when the task fails', async () => {
    const f = fakeContext();
    const t = task({ name: 'unit.boom' }, async (msg: string) => {
      f.order.push('body');
      throw new RangeError(msg);
    });
    const job = jobFor(t, { args: ['bad'] }, { acksLate: true, order: f.order });
    await executeJob(job, f.ctx);
    assert.deepEqual(f.order, ['body', 'report FAILURE', 'ack']);
    const [failure] = f.reported;
    assert.equal(failure!.state, 'FAILURE');
    assert.deepEqual(failure!.result, { exc_type: 'RangeError', exc_message: ['bad'], exc_module: 'builtins' });
    assert.match(String(failure!.traceback), /^RangeError: bad\n/);
    assert.ok(f.logs.find(/unit\.boom\[id-\d+\] raised unexpected: RangeError\(bad\)/));
  });

  it('ignoreResult: nothing reported, still acked; trackStarted: STARTED before SUCCESS', async () => {
    const f = fakeContext();
    const quiet = jobFor(
      task({ name: 'unit.quiet' }, () => 1),
      {},
      { ignoreResult: true },
    );
    await executeJob(quiet, f.ctx);
    assert.equal(f.reported.length, 0, 'nothing reported');
    assert.equal((quiet.delivery as FakeDelivery).acks, 1);

    const tracked = jobFor(task({ name: 'unit.tracked', trackStarted: true }, () => 'done'));
    await executeJob(tracked, f.ctx);
    assert.deepEqual(
      f.reported.map((r) => r.state),
      ['STARTED', 'SUCCESS'],
    );
    assert.deepEqual(f.reported[0]!.result, { pid: process.pid, hostname: 'unit@test' });
  });

  it('retry: the same id is sent again with retries + 1 and its countdown, RETRY is reported, onRetry runs', async () => {
    const f = fakeContext();
    const seen: string[] = [];
    const t = task({ name: 'unit.flaky', bind: true, onRetry: (_exc: unknown, id: string) => void seen.push(`retry ${id}`) }, (self) =>
      self.retry({ exc: new Error('later'), countdown: 7 }),
    );
    const job = jobFor(t, { retries: 1, rootId: 'root-1' });
    await executeJob(job, f.ctx);
    assert.equal(f.sent.length, 1);
    const { name, options } = f.sent[0]!;
    assert.equal(name, 'unit.flaky');
    assert.deepEqual([options.taskId, options.retries, options.countdown, options.rootId, options.replyTo], [job.msg.id, 2, 7, 'root-1', 'reply.q']);
    assert.deepEqual(
      f.reported.map((r) => r.state),
      ['RETRY'],
    );
    assert.deepEqual(seen, [`retry ${job.msg.id}`]);
  });

  it("link callbacks and the chain's next step get the result first; errbacks get the failed task's id", async () => {
    const f = fakeContext();
    const sig = (name: string, args: unknown[] = []) => ({ task: name, args, kwargs: {}, options: {}, subtask_type: null, immutable: false });
    const ok = jobFor(
      task({ name: 'unit.ten' }, () => 10),
      { callbacks: [sig('cb', ['x'])], chain: [sig('last'), sig('next', [1])] },
    );
    await executeJob(ok, f.ctx);
    assert.deepEqual(
      f.sent.map((s) => [s.name, s.args, s.options.parentId, s.options.chain?.map((c) => c.task) ?? null]),
      [
        ['cb', [10, 'x'], ok.msg.id, null],
        ['next', [10, 1], ok.msg.id, ['last']],
      ],
    );
    const failing = jobFor(
      task({ name: 'unit.fails' }, () => {
        throw new Error('no');
      }),
      { errbacks: [sig('on.error')] },
    );
    await executeJob(failing, f.ctx);
    assert.deepEqual(f.sent.at(-1)!.name, 'on.error');
    assert.deepEqual(f.sent.at(-1)!.args, [failing.msg.id]);
  });

  it('a result that cannot be sent is logged; the job is still acked and the executor does not throw', async () => {
    const f = fakeContext({
      markState: () => {
        throw new Error('backend down');
      },
    });
    const job = jobFor(task({ name: 'unit.one' }, () => 1));
    await executeJob(job, f.ctx);
    assert.equal((job.delivery as FakeDelivery).acks, 1);
    assert.ok(f.logs.find(/could not send result/));
  });

  it('a hard time limit fails a body that never returns with TimeLimitExceeded and frees it', async () => {
    const f = fakeContext({ timeLimit: 0.05 });
    const job = jobFor(
      task({ name: 'unit.hang' }, () => new Promise(() => undefined)),
      {},
      { acksLate: true },
    );
    await executeJob(job, f.ctx);
    assert.equal(f.reported[0]!.state, 'FAILURE');
    assert.equal((f.reported[0]!.result as { exc_type: string }).exc_type, 'TimeLimitExceeded');
    assert.equal(job.controller.signal.aborted, true, "the task's signal fired");
    assert.equal((job.delivery as FakeDelivery).acks, 1);
  });

  it('a missing positional argument is the task failing with TypeError, not a run with undefined', async () => {
    const f = fakeContext();
    await executeJob(
      jobFor(
        task({ name: 'proj.tasks.add' }, (x: number, y: number) => x + y),
        { args: [1] },
      ),
      f.ctx,
    );
    assert.equal(f.reported[0]!.state, 'FAILURE');
    assert.deepEqual(f.reported[0]!.result, {
      exc_type: 'TypeError',
      exc_message: ["add() missing 1 required positional argument: 'y'"],
      exc_module: 'builtins',
    });
  });
});
