/**
 * Worker behaviour through the public API, run against every broker (worker-file.test.ts,
 * worker-amqp.test.ts): results, failures, handlers, unknown and malformed messages, ignore
 * result, trackStarted, concurrency, prefetch, rate limits, eta, expiry, callbacks, control.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  chain,
  chord,
  ChordError,
  createApp,
  group,
  DuplicateNodeNameError,
  ResultTimeoutError,
  ResultUnavailableError,
  TaskFailedError,
  TaskRevokedError,
  Worker,
  type UserConfig,
} from 'celeryts';
import { E2E, eventually, readRecord, startInProcess, tempRecordFile, type InProcess } from './harness.js';

type Jobs = typeof import('../fixtures/e2e/app/jobs.js');

/**
 * Register the worker suite for one broker. `brokerUrl` is called once per describe block.
 * `resultBackend` (default rpc://) is used by every worker and client of the suite.
 */
export function runWorkerSuite(label: string, brokerUrl: () => string, options: { resultBackend?: string } = {}): void {
  const resultBackend = options.resultBackend ?? 'rpc://';
  const rpc = resultBackend.startsWith('rpc');
  // Each worker gets its own queue so workers of one run never take each other's tasks.
  const uniqueQueue = (): UserConfig => ({ defaultQueue: `t.${randomUUID().slice(0, 8)}`, resultBackend });
  label = `${label} (results: ${rpc ? 'rpc://' : resultBackend})`;

  describe(`worker on ${label}`, () => {
    let w: InProcess;
    let jobs: Jobs;
    const record = tempRecordFile();

    before(async () => {
      process.env['RECORD_FILE'] = record;
      w = await startInProcess({ brokerUrl: brokerUrl(), config: { concurrency: 2, prefetchMultiplier: 2, ...uniqueQueue() } });
      // The loader imported the module by its real path; importing the same URL gives the same instances.
      jobs = (await import(pathToFileURL(path.join(E2E, 'app/jobs.ts')).href)) as Jobs;
      // The module is shared by every run of this suite in the process: start from empty records.
      jobs.divide.events.length = 0;
      jobs.optionHandlers.length = 0;
      jobs.retryLog.length = 0;
    });
    after(async () => {
      await w.stop();
      await deleteQueue(w);
    });

    it('runs a task and returns its result to the caller, args and kwargs bound by name', async () => {
      const r = await w.client.sendTask<string>('app.jobs.step', ['plain']);
      assert.equal(await r.get({ timeout: 10 }), 'plain');
      const who = await w.client.sendTask<{ tag: string; id: string; hostname: string; routingKey: string }>('app.jobs.whoami', [], { tag: 'kw' });
      const v = await who.get({ timeout: 10 });
      assert.equal(v.tag, 'kw');
      assert.equal(v.id, who.id, 'bind gives the body its request');
      assert.equal(v.hostname, w.worker.nodeName);
      assert.equal(v.routingKey, w.worker.queues[0]);
    });

    it('sends FAILURE with the error type and message; class handlers run in order', async () => {
      const r = await w.client.sendTask('app.jobs.divide', [1, 0]);
      const err = await r.get({ timeout: 10 }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof TaskFailedError, `expected TaskFailedError, got ${String(err)}`);
      assert.equal(err.excType, 'RangeError');
      assert.equal(err.excMessage, 'division by zero');
      assert.deepEqual(err.excArgs, ['division by zero']);
      assert.match(err.remoteTraceback ?? '', /RangeError: division by zero/);
      const ok = await w.client.sendTask('app.jobs.divide', [6, 3]);
      assert.equal(await ok.get({ timeout: 10 }), 2);
      // Handlers run after the result is sent (Celery's order), so wait for the last one.
      await eventually(() => jobs.divide.events.length === 6, 3000, 'handlers');
      assert.deepEqual(jobs.divide.events, [
        `before ${r.id}`,
        `failure ${r.id} division by zero tb`,
        `after FAILURE ${r.id}`,
        `before ${ok.id}`,
        `success ${ok.id} 2 [6,3]`,
        `after SUCCESS ${ok.id}`,
      ]);
    });

    it('a result JSON cannot encode (BigInt, circular) fails the task with EncodeError, logged once', async () => {
      for (const kind of ['bigint', 'circular']) {
        const r = await w.client.sendTask('app.jobs.unencodable', [kind]);
        const err = await r.get({ timeout: 10 }).then(
          () => null,
          (e: unknown) => e,
        );
        assert.ok(err instanceof TaskFailedError, `${kind}: expected TaskFailedError, got ${String(err)}`);
        assert.equal(err.excType, 'EncodeError');
        assert.equal(err.excModule, 'kombu.exceptions', "Python rebuilds it as kombu's EncodeError");
        assert.equal(r.state, 'FAILURE');
        const errorLines = () => w.logs.lines.filter((l) => l['taskId'] === r.id && Number(l['level']) >= 50);
        await eventually(() => errorLines().length > 0, 2000, 'the error line');
        await new Promise((resolve) => setTimeout(resolve, 100));
        const lines = errorLines();
        assert.equal(lines.length, 1, `${kind}: one error line, got ${JSON.stringify(lines)}`);
        assert.match(String(lines[0]!['msg']), /EncodeError/);
      }
      assert.equal(await (await w.client.sendTask('app.jobs.add', [2, 3])).get({ timeout: 10 }), 5, 'the worker keeps running');
    });

    it('runs handlers passed as options', async () => {
      await (await w.client.sendTask('app.jobs.withHandlerOptions', [21])).get({ timeout: 10 });
      await eventually(() => jobs.optionHandlers.length === 2, 3000, 'handlers');
      assert.deepEqual(jobs.optionHandlers, ['success 42', 'after SUCCESS']);
    });

    it('rejects an unknown task, tells the caller NotRegistered, logs the closest names, keeps running', async () => {
      const r = await w.client.sendTask('app.jobs.stepp', ['x']);
      const err = await r.get({ timeout: 10 }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof TaskFailedError);
      assert.equal(err.excType, 'NotRegistered');
      assert.deepEqual(err.excArgs, ['app.jobs.stepp'], "Python's NotRegistered(name)");
      assert.match(err.remoteTraceback ?? '', /did you mean 'app\.jobs\.step'/, "the worker's suggestion reaches the caller");
      const line = (await eventually(() => w.logs.find(/not registered/), 2000, 'log line'))!;
      assert.match(String(line['msg']), /did you mean 'app\.jobs\.step'/);
      assert.equal(line['taskId'], r.id);
      assert.equal(await (await w.client.sendTask('app.jobs.step', ['after-unknown'])).get({ timeout: 10 }), 'after-unknown');
      assert.equal(w.worker.stats.rejected['not_registered'], 1);
    });

    it('rejects malformed messages without requeue, logs each once with its task id, and keeps running', async () => {
      const broker = await w.client.broker();
      const queue = w.worker.queues[0]!;
      const props = { contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2 as const };
      const id1 = randomUUID();
      await broker.publish('', queue, { headers: { task: 'app.jobs.step', id: id1 }, properties: props, body: Buffer.from('{not json') });
      await broker.publish('', queue, { headers: { id: randomUUID() }, properties: props, body: Buffer.from('[[],{},{}]') });
      const id3 = randomUUID();
      await broker.publish('', queue, {
        headers: { task: 'app.jobs.step', id: id3 },
        properties: { ...props, contentType: 'application/x-python-serialize' },
        body: Buffer.from('cos\nsystem\n'),
      });
      const r = await w.client.sendTask('app.jobs.step', ['after-garbage']);
      assert.equal(await r.get({ timeout: 10 }), 'after-garbage');
      await eventually(() => (w.worker.stats.rejected['malformed'] ?? 0) >= 2 && w.worker.stats.rejected['content_type'] === 1, 3000, 'rejections counted');
      const bad = w.logs.lines.filter((l) => String(l['msg']).startsWith('Rejected'));
      assert.equal(bad.filter((l) => l['taskId'] === id1).length, 1, 'bad JSON logged once with its id');
      assert.equal(bad.filter((l) => l['taskId'] === id3).length, 1, 'pickle logged once with its id');
      assert.ok(bad.some((l) => /missing 'task' header/.test(String(l['msg']))));
      assert.equal(await broker.queueSize(queue), 0, 'nothing requeued');
    });

    it('rpc: only the client that sent a task can take its result, once; others fail at once', { skip: !rpc && 'rpc:// only' }, async () => {
      const r = await w.client.sendTask('app.jobs.add', [1, 1]);
      const other = await createApp({ cwd: E2E, brokerUrl: brokerUrl(), resultBackend, logLevel: 'silent', setAsCurrent: false });
      try {
        await assert.rejects((await other.asyncResult(r.id)).get({ timeout: 5 }), ResultUnavailableError);
      } finally {
        await other.close();
      }
      assert.equal(await r.get({ timeout: 10 }), 2);
      await assert.rejects((await w.client.asyncResult(r.id)).get({ timeout: 1 }), ResultUnavailableError, 'already taken');
    });

    it('a task sent while another runs is its child: parent_id and root_id are the sender, and the result lists it in children', async () => {
      const r = await w.client.sendTask<{ child: string; seen: { parentId: string | null; rootId: string | null }; children: string[] }>('app.jobs.spawn', []);
      const v = await r.get({ timeout: 15 });
      assert.deepEqual(v.seen, { parentId: r.id, rootId: r.id }, 'the child saw its sender as parent and root');
      assert.deepEqual(v.children, [v.child], 'request.children while it ran');
      assert.deepEqual(
        r.children.map((c) => c.id),
        [v.child],
        'the result carries its children (Celery stores them as result tuples)',
      );
      // A send from outside any task has no parent, and is its own root.
      const top = await w.client.sendTask<{ parentId: string | null; rootId: string | null }>('app.jobs.lineage', []);
      assert.deepEqual(await top.get({ timeout: 10 }), { parentId: null, rootId: top.id });
      // A retry is the same task sent again, not a child of the run that retried.
      const retried = await w.client.sendTask('app.jobs.retriedLineage', []);
      assert.deepEqual(await retried.get({ timeout: 10 }), { parentId: null, rootId: retried.id, children: [] });
      if (!rpc) {
        const reader = await w.client.asyncResult(v.child);
        await reader.get({ timeout: 10 });
        assert.equal(reader.parent?.id, r.id, 'the stored child names its parent');
      }
    });

    it('a stored result is read by id by two other clients, twice each, with state, date and traceback', { skip: rpc && 'stored results only' }, async () => {
      const ok = await w.client.sendTask<number>('app.jobs.add', [20, 22]);
      const bad = await w.client.sendTask('app.jobs.divide', [1, 0]);
      const readers = await Promise.all(
        [1, 2].map(() => createApp({ cwd: E2E, brokerUrl: brokerUrl(), resultBackend, logLevel: 'silent', setAsCurrent: false })),
      );
      try {
        for (const reader of readers) {
          for (let round = 0; round < 2; round++) {
            const r = await reader.asyncResult<number>(ok.id);
            assert.equal(await r.get({ timeout: 10 }), 42, 'a reader that did not send the task waits for it and gets it');
            assert.equal(r.state, 'SUCCESS');
            assert.ok(r.successful() && r.ready() && !r.failed());
            assert.ok(r.dateDone instanceof Date && Math.abs(r.dateDone.getTime() - Date.now()) < 60_000, 'date_done is stored');
            const f = await reader.asyncResult(bad.id);
            const err = await f.get({ timeout: 10, propagate: false });
            assert.ok(err instanceof TaskFailedError && err.excType === 'RangeError', 'propagate: false resolves with the error');
            assert.ok(f.failed());
            assert.match(f.traceback ?? '', /RangeError: division by zero/);
          }
        }
        assert.equal(await ok.get({ timeout: 1 }), 42, 'the sender reads it too: reading does not consume it');
        // forget(): the stored result is gone for everyone.
        await (await readers[0]!.asyncResult(ok.id)).forget();
        const gone = await readers[1]!.asyncResult(ok.id);
        assert.equal(gone.state, 'PENDING');
        await assert.rejects(gone.get({ timeout: 0.3 }), ResultTimeoutError);
      } finally {
        await Promise.all(readers.map((r) => r.close()));
      }
    });

    it('sends no result for a task with ignoreResult, even to a caller that asks for one', async () => {
      // Sent by name, the caller does not know the task ignores results: it asks for one, so only the worker can hold it back.
      const r = await w.client.sendTask('app.jobs.quiet', ['quiet-by-name'], {}, { ignoreResult: false });
      await eventually(() => readRecord(record).some((e) => e.label === 'quiet-by-name'), 5000, 'the task to run');
      // The worker publishes a result right after the body returns; a later task's result arriving first shows none was sent.
      assert.equal(await (await w.client.sendTask('app.jobs.step', ['after-quiet'])).get({ timeout: 10 }), 'after-quiet');
      assert.equal(r.state, 'PENDING', 'no result arrived');
      await assert.rejects(r.get({ timeout: 0.2 }), ResultTimeoutError);
      // A caller that imports the task knows at once: nothing to wait for.
      await assert.rejects((await jobs.quiet.delay()).get({ timeout: 1 }), ResultUnavailableError);
    });

    it('reports STARTED for trackStarted tasks, then SUCCESS', async () => {
      const r = await w.client.sendTask('app.jobs.tracked', [300]);
      // rpc pushes every state to the sender; a stored state is read again by refresh() (Celery's AsyncResult.state reads).
      await eventually(async () => (await r.refresh()).state === 'STARTED', 5000, 'STARTED');
      assert.equal(await r.get({ timeout: 10 }), 300);
      assert.equal(r.state, 'SUCCESS');
    });

    it('runs at most `concurrency` tasks at once and keeps prefetch bounded', async () => {
      const labels = Array.from({ length: 8 }, (_, i) => `conc${i}`);
      const results = await Promise.all(labels.map((l) => w.client.sendTask('app.jobs.step', [l, 150])));
      let maxReserved = 0;
      const poll = setInterval(() => (maxReserved = Math.max(maxReserved, w.worker.pool.waitingCount)), 5);
      await Promise.all(results.map((r) => r.get({ timeout: 20 })));
      clearInterval(poll);
      const events = readRecord(record).filter((e) => labels.includes(e.label));
      let running = 0;
      let peak = 0;
      for (const e of events) {
        running += e.event === 'start' ? 1 : -1;
        peak = Math.max(peak, running);
      }
      assert.equal(peak, 2, 'concurrency 2');
      // Early acks free a prefetch slot when a task starts (as in Celery): unacked reserved tasks stay within prefetch.
      assert.ok(maxReserved <= 4, `prefetch 2 x 2 bounds the reserved tasks (saw ${maxReserved})`);
      assert.ok(maxReserved >= 1, 'the worker did reserve tasks ahead');
    });

    it('spaces rate-limited tasks without holding up other tasks', async () => {
      const labels = Array.from({ length: 5 }, (_, i) => `rl${i}`);
      // Bounds from below only, so a loaded machine (late timers, a busy pool) cannot fail it:
      // at 10/s the k-th start comes at least k x 100 ms after the tasks were sent.
      const sentAt = Date.now();
      const limited = await Promise.all(labels.map((l) => w.client.sendTask('app.jobs.limited', [l])));
      const free = await w.client.sendTask('app.jobs.step', ['free']);
      await free.get({ timeout: 10 });
      await Promise.all(limited.map((r) => r.get({ timeout: 10 })));
      const starts = readRecord(record)
        .filter((e) => labels.includes(e.label))
        .map((e) => e.at)
        .sort((a, b) => a - b);
      for (const [k, at] of starts.entries()) {
        assert.ok(at >= sentAt + k * 100 - 10, `10/s: start ${k} came ${at - sentAt} ms after sending (at least ${k * 100})`);
      }
      const freeStart = readRecord(record).find((e) => e.label === 'free')!.at;
      assert.ok(freeStart < starts[starts.length - 1]!, 'an unlimited task ran while limited ones waited');
    });

    it('runs a countdown task no earlier than its eta', async () => {
      const sent = Date.now();
      const r = await w.client.sendTask('app.jobs.step', ['eta1'], {}, { countdown: 0.4 });
      await r.get({ timeout: 10 });
      const start = readRecord(record).find((e) => e.label === 'eta1')!;
      assert.ok(start.at >= sent + 390, `started ${start.at - sent} ms after sending`);
    });

    it('a task due beyond the 2 s horizon waits in the broker, not in worker memory, and runs at its eta', async () => {
      const sent = Date.now();
      const r = await w.client.sendTask('app.jobs.step', ['parked'], {}, { countdown: 3 });
      const far = await Promise.all(Array.from({ length: 50 }, (_, i) => w.client.sendTask('app.jobs.step', [`far${i}`], {}, { countdown: 3600 })));
      await eventually(async () => (await (await w.client.broker()).queueSize(w.worker.queues[0]!)) === 0, 5000, 'queue drained into the delay');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(w.worker.eta.size, 0, 'nothing held in the eta heap');
      assert.equal(w.worker.pool.waitingCount, 0, 'nothing reserved');
      await r.get({ timeout: 10 });
      const start = readRecord(record).find((e) => e.label === 'parked')!;
      assert.ok(start.at >= sent + 2990, `ran ${start.at - sent} ms after sending, not before its eta`);
      assert.ok(start.at <= sent + 4500, `ran ${start.at - sent} ms after sending, within a second or so of its eta`);
      assert.equal(far.length, 50);
      assert.ok(!readRecord(record).some((e) => e.label.startsWith('far')), 'hour-away tasks did not run');
    });

    it('discards an expired task and tells the caller REVOKED', async () => {
      const r = await w.client.sendTask('app.jobs.step', ['expired'], {}, { expires: new Date(Date.now() - 1000) });
      await assert.rejects(r.get({ timeout: 10 }), TaskRevokedError);
      assert.equal(readRecord(record).filter((e) => e.label === 'expired').length, 0);
    });

    it('sends link callbacks with the result prepended', async () => {
      const link = { task: 'app.jobs.step', args: ['linked'], kwargs: {}, options: {}, subtask_type: null, immutable: false };
      const r = await w.client.sendTask('app.jobs.withHandlerOptions', [5], {}, { link });
      assert.equal(await r.get({ timeout: 10 }), 10);
      // step(10, 'linked'): the result becomes the first argument
      await eventually(() => readRecord(record).some((e) => e.label === '10' && e.event === 'end'), 5000, 'callback');
    });

    it('retries: same task id, retries + 1, RETRY states reach the caller, onRetry runs, then SUCCESS', async () => {
      const r = await w.client.sendTask<number>('app.jobs.flaky', [2]);
      const seen = new Set<string>();
      const poll = setInterval(() => seen.add(r.state), 2);
      assert.equal(await r.get({ timeout: 10 }), 2);
      clearInterval(poll);
      assert.ok(seen.has('RETRY'), `states seen: ${[...seen].join(', ')}`);
      await eventually(() => jobs.retryLog.length === 2, 2000, 'onRetry');
      assert.deepEqual(jobs.retryLog, [`${r.id} attempt 0`, `${r.id} attempt 1`]);
    });

    it('retries: past maxRetries the original error fails the task', async () => {
      const r = await w.client.sendTask('app.jobs.hopeless', []);
      const err = await r.get({ timeout: 10 }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof TaskFailedError);
      assert.equal(err.excType, 'RangeError');
      assert.equal(err.excMessage, 'still broken');
    });

    it('autoretryFor retries matching errors until the task succeeds', async () => {
      const r = await w.client.sendTask('app.jobs.autoRetried', []);
      assert.equal(await r.get({ timeout: 10 }), 3);
    });

    it('chain: each result passes to the next step; immutable steps ignore it', async () => {
      const r = await chain(jobs.add.s(2, 2), jobs.add.s(4), jobs.add.s(8)).applyAsync();
      assert.equal(await r.get({ timeout: 10 }), 16);
      const imm = await chain(jobs.add.s(1, 1), jobs.add.si(10, 10)).applyAsync();
      assert.equal(await imm.get({ timeout: 10 }), 20);
    });

    it('group: members run in parallel and the caller collects their results in order', async () => {
      const g = await group(jobs.add.s(1, 1), jobs.add.s(2, 2), jobs.add.s(3, 3)).applyAsync();
      assert.deepEqual(await g.get({ timeout: 10 }), [2, 4, 6]);
    });

    it('chord: the body gets the header results in order, once; a failed member fails it with ChordError', { skip: rpc && 'stored results only' }, async () => {
      const r = await chord([jobs.add.s(1, 1), jobs.add.s(2, 2), jobs.step.s('x', 150)], jobs.step.s()).applyAsync();
      assert.deepEqual(await r.get({ timeout: 15 }), [2, 4, 'x'], 'results in header order, whatever order they finished in');
      const sum = await chord([jobs.add.s(1, 1), jobs.add.s(2, 2)], jobs.xsum.s()).applyAsync();
      assert.equal(await sum.get({ timeout: 15 }), 6);
      const failed = await chord([jobs.add.s(1, 1), jobs.divide.s(1, 0)], jobs.xsum.s()).applyAsync();
      const err = await failed.get({ timeout: 15, propagate: false });
      assert.ok(err instanceof TaskFailedError, String(err));
      assert.equal(err.excType, 'ChordError');
      assert.match(err.excMessage, /^Dependency [0-9a-f-]+ raised RangeError\('division by zero'\)$/);
    });

    it('chord: rpc:// refuses it at once, naming the backend to use', { skip: !rpc && 'rpc:// only' }, async () => {
      await assert.rejects(chord([jobs.add.s(1, 1)], jobs.xsum.s()).applyAsync(), (e: Error) => e instanceof ChordError && /redis:\/\//.test(e.message));
    });

    it('a saved group is restored by id in another client', { skip: rpc && 'stored results only' }, async () => {
      const g = await group(jobs.add.s(5, 5), jobs.add.s(6, 6)).applyAsync();
      await g.save();
      const other = await createApp({ cwd: E2E, brokerUrl: brokerUrl(), resultBackend, logLevel: 'silent', setAsCurrent: false });
      try {
        const restored = await other.groupResult(g.id);
        assert.ok(restored);
        assert.deepEqual(
          restored.results.map((r) => r.id),
          g.results.map((r) => r.id),
        );
        assert.deepEqual(await restored.get({ timeout: 10 }), [10, 12]);
        assert.equal(await other.groupResult(randomUUID()), null, 'nothing saved under an unknown id');
      } finally {
        await other.close();
      }
    });

    it('soft time limit: the AbortSignal fires with SoftTimeLimitExceeded where the task awaits', async () => {
      const r = await w.client.sendTask('app.jobs.softLimited', []);
      assert.equal(await r.get({ timeout: 10 }), 'interrupted by SoftTimeLimitExceeded');
    });

    it('hard time limit from the task or the message header fails the task with TimeLimitExceeded', async () => {
      for (const r of [
        await w.client.sendTask('app.jobs.hardLimited', []),
        await w.client.sendTask('app.jobs.step', ['limited-by-header', 3000], {}, { timeLimit: 0.2 }),
      ]) {
        const err = await r.get({ timeout: 10 }).then(
          () => null,
          (e: unknown) => e,
        );
        assert.ok(err instanceof TaskFailedError, String(err));
        assert.equal(err.excType, 'TimeLimitExceeded');
      }
    });

    it('revoke: a revoked task id is skipped when it arrives and its caller sees REVOKED', async () => {
      const id = randomUUID();
      const control = await w.client.control();
      await control.broadcast('revoke', { task_id: id }, { destination: [w.worker.nodeName], timeout: 2 });
      const r = await w.client.sendTask('app.jobs.step', ['revoked-before'], {}, { taskId: id });
      await assert.rejects(r.get({ timeout: 10 }), TaskRevokedError);
      assert.ok(!readRecord(record).some((e) => e.label === 'revoked-before'));
    });

    it('answers inspect registered and ping, and refuses a second worker with its node name', async () => {
      const control = await w.client.control();
      const registered = await control.broadcast('registered', {}, { destination: [w.worker.nodeName], timeout: 3 });
      assert.ok((registered[w.worker.nodeName] as string[]).includes('app.jobs.step'));
      const pong = await control.broadcast('ping', {}, { destination: [w.worker.nodeName], timeout: 3 });
      assert.deepEqual(pong, { [w.worker.nodeName]: { ok: 'pong' } });
      const twin = new Worker(w.client, { nodeName: w.worker.nodeName });
      await assert.rejects(twin.start(), DuplicateNodeNameError);
    });

    it('add_consumer and cancel_consumer change what it consumes; active_queues and query_task report it', async () => {
      const control = await w.client.control();
      const node = w.worker.nodeName;
      const ask = (method: string, args: Record<string, unknown>) => control.broadcast(method, args, { destination: [node], timeout: 3 }).then((r) => r[node]);
      const extra = `${w.worker.queues[0]}.extra`;
      const routed = `${w.worker.queues[0]}.routed`;
      const broker = await w.client.broker();
      try {
        assert.deepEqual(await ask('add_consumer', { queue: extra, exchange: null, exchange_type: 'direct', routing_key: null }), {
          ok: `add consumer ${extra}`,
        });
        assert.deepEqual(await ask('add_consumer', { queue: extra }), { ok: `add consumer ${extra}` }, 'a second add is a no-op');
        const viaExtra = await w.client.sendTask<{ routingKey: string }>('app.jobs.whoami', ['extra'], {}, { queue: extra });
        assert.equal((await viaExtra.get({ timeout: 10 })).routingKey, extra);

        // Bound to a topic exchange by a pattern: a task published there with a matching key arrives.
        const exchange = 'celeryts.test.topic';
        assert.deepEqual(await ask('add_consumer', { queue: routed, exchange, exchange_type: 'topic', routing_key: `${routed}.#` }), {
          ok: `add consumer ${routed}`,
        });
        const viaTopic = await w.client.sendTask<{ routingKey: string }>('app.jobs.whoami', ['topic'], {}, { exchange, routingKey: `${routed}.eu.west` });
        assert.equal((await viaTopic.get({ timeout: 10 })).routingKey, `${routed}.eu.west`);

        const queues = (await ask('active_queues', {})) as { name: string; routing_key: string; exchange: { name: string; type: string } }[];
        assert.deepEqual(
          queues.map((q) => [q.name, q.exchange.name, q.exchange.type, q.routing_key]),
          [
            [w.worker.queues[0], w.worker.queues[0], 'direct', w.worker.queues[0]],
            [extra, extra, 'direct', extra],
            [routed, exchange, 'topic', `${routed}.#`],
          ],
        );

        // A task that is running is found by query_task; an unknown id is not.
        const slow = await w.client.sendTask<string>('app.jobs.step', ['queried', 400], {}, { queue: extra });
        await eventually(() => readRecord(record).some((e) => e.label === 'queried'), 5000, 'task start');
        const found = (await ask('query_task', { ids: [slow.id, 'no-such-id'] })) as Record<string, [string, { id: string; name: string }]>;
        assert.deepEqual(Object.keys(found), [slow.id]);
        assert.equal(found[slow.id]![0], 'active');
        assert.equal(found[slow.id]![1].name, 'app.jobs.step');

        // Cancelled: what it already received finishes; new tasks wait in the queue.
        assert.deepEqual(await ask('cancel_consumer', { queue: extra }), { ok: `no longer consuming from ${extra}` });
        assert.equal(await slow.get({ timeout: 10 }), 'queried');
        await w.client.sendTask('app.jobs.step', ['after-cancel'], {}, { queue: extra });
        await eventually(async () => (await broker.queueSize(extra)) === 1, 3000, 'the task to wait in the cancelled queue');
        await new Promise((r) => setTimeout(r, 300));
        assert.ok(!readRecord(record).some((e) => e.label === 'after-cancel'), 'nothing consumes the cancelled queue');
        assert.ok(!w.worker.queues.includes(extra));
      } finally {
        await ask('cancel_consumer', { queue: routed });
        for (const q of [extra, routed]) await broker.deleteQueue(q).catch(() => undefined);
      }
    });

    it('finishes a running task on warm shutdown and returns its result', async () => {
      const w2 = await startInProcess({ brokerUrl: brokerUrl(), config: { concurrency: 1, ...uniqueQueue() } });
      const r = await w2.client.sendTask('app.jobs.step', ['warm', 300]);
      await eventually(() => readRecord(record).some((e) => e.label === 'warm'), 5000, 'task start');
      await w2.worker.stop();
      await w2.app.close();
      assert.equal(await r.get({ timeout: 5 }), 'warm');
      assert.equal(readRecord(record).filter((e) => e.label === 'warm' && e.event === 'end').length, 1);
      await w2.client.close();
    });
  });

  describe(`thread pool on ${label}`, () => {
    let w: InProcess;
    const record = tempRecordFile();
    before(async () => {
      process.env['RECORD_FILE'] = record;
      w = await startInProcess({ brokerUrl: brokerUrl(), config: { pool: 'threads', concurrency: 2, workerPoolRestarts: true, ...uniqueQueue() } });
    });
    after(async () => {
      await w.stop();
      await deleteQueue(w);
    });

    it('runs CPU-bound tasks from TypeScript modules in worker threads, two at once', async () => {
      const started = Date.now();
      const rs = await Promise.all([0, 1].map(() => w.client.sendTask<number>('app.jobs.busy', [300])));
      const threads = await Promise.all(rs.map((r) => r.get({ timeout: 20 })));
      assert.ok(
        threads.every((t) => t > 0),
        `ran in threads ${threads.join(', ')}, not the main thread`,
      );
      assert.notEqual(threads[0], threads[1]);
      assert.ok(Date.now() - started < 1500, 'two 300 ms busy loops overlapped');
    });

    it('pool_restart (with workerPoolRestarts) replaces the task threads; tasks run in the fresh ones', async () => {
      const threadsOf = async () =>
        new Set(await Promise.all([0, 1].map(async () => (await w.client.sendTask<number>('app.jobs.busy', [50])).get({ timeout: 20 }))));
      const before = w.worker.runner.processes();
      await threadsOf();
      const control = await w.client.control();
      const r = await control.broadcast('pool_restart', { reload: 1 }, { destination: [w.worker.nodeName], timeout: 3 });
      assert.deepEqual(r, { [w.worker.nodeName]: { ok: 'reload started' } });
      const after = w.worker.runner.processes();
      assert.equal(after.length, 2);
      assert.ok(
        after.every((id) => !before.includes(id)),
        `threads ${before} -> ${after}`,
      );
      for (const id of await threadsOf()) assert.ok(after.includes(id), `ran in thread ${id}, not one of the fresh ${after}`);
    });

    it("caps each task thread's young generation at workerMaxSemiSpaceMb (default 4 MiB)", async () => {
      const mib = await (await w.client.sendTask<number>('app.jobs.semiSpaceMib', [])).get({ timeout: 20 });
      assert.ok(mib > 0 && mib <= 4, `a task thread's semi-space reached ${mib} MiB`);
    });

    it('a hard time limit terminates the thread, fails the task, and a fresh thread takes the next one', async () => {
      const r = await w.client.sendTask('app.jobs.spin', []);
      const err = await r.get({ timeout: 20 }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof TaskFailedError, String(err));
      assert.equal(err.excType, 'TimeLimitExceeded');
      assert.ok((await (await w.client.sendTask<number>('app.jobs.busy', [10])).get({ timeout: 20 })) > 0);
    });

    it('a thread that dies fails its task with WorkerLostError (acks late, no rejectOnWorkerLost)', async () => {
      const r = await w.client.sendTask('app.jobs.dies', []);
      const err = await r.get({ timeout: 20 }).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof TaskFailedError, String(err));
      assert.equal(err.excType, 'WorkerLostError');
      assert.equal(await (await w.client.sendTask('app.jobs.add', [1, 2])).get({ timeout: 20 }), 3);
    });

    it('with rejectOnWorkerLost the task is requeued and runs again', async () => {
      const r = await w.client.sendTask('app.jobs.diesOnce', ['phoenix']);
      assert.equal(await r.get({ timeout: 20 }), 'phoenix survived');
      assert.ok(readRecord(record).some((e) => e.event === 'died' && e.label === 'phoenix'));
    });

    it('revoke with terminate: 1 (as Flower and Python send it) stops a running task; its caller sees REVOKED', async () => {
      const r = await w.client.sendTask('app.jobs.spinForever', []);
      await eventually(() => w.worker.active.size > 0, 10_000, 'task running');
      const control = await w.client.control();
      await control.broadcast('revoke', { task_id: r.id, terminate: 1 }, { destination: [w.worker.nodeName], timeout: 2 });
      await assert.rejects(r.get({ timeout: 20 }), TaskRevokedError);
      assert.equal(await (await w.client.sendTask('app.jobs.add', [2, 2])).get({ timeout: 20 }), 4);
    });
  });

  describe(`worker with results ignored globally on ${label}`, () => {
    it('sends no result when ignoreResult is set in the config, but runs the task', async () => {
      const record = tempRecordFile();
      process.env['RECORD_FILE'] = record;
      const w = await startInProcess({ brokerUrl: brokerUrl(), config: { ignoreResult: true, ...uniqueQueue() } });
      try {
        // The caller asks for a result; the worker's global setting wins, as task_ignore_result does in Celery.
        const r = await w.client.sendTask('app.jobs.step', ['ignored'], {}, { ignoreResult: false });
        await assert.rejects(r.get({ timeout: 0.8 }), ResultTimeoutError);
        assert.ok(readRecord(record).some((e) => e.label === 'ignored'));
      } finally {
        await w.stop();
      }
    });
  });

  describe(`worker without rate limits on ${label}`, () => {
    it('ignores task rate limits when disableRateLimits is set', async () => {
      const record = tempRecordFile();
      process.env['RECORD_FILE'] = record;
      const w = await startInProcess({ brokerUrl: brokerUrl(), config: { disableRateLimits: true, concurrency: 5, ...uniqueQueue() } });
      try {
        const labels = Array.from({ length: 5 }, (_, i) => `free${i}`);
        await Promise.all((await Promise.all(labels.map((l) => w.client.sendTask('app.jobs.limited', [l])))).map((r) => r.get({ timeout: 10 })));
        const starts = readRecord(record).map((e) => e.at);
        assert.ok(Math.max(...starts) - Math.min(...starts) < 300, 'five 10/s tasks did not wait 400 ms');
      } finally {
        await w.stop();
      }
    });
  });
}

async function deleteQueue(w: InProcess): Promise<void> {
  if (!w.client.config.brokerUrl.startsWith('amqp')) return;
  const b = await w.client.broker().catch(() => undefined);
  for (const q of w.worker.queues) await b?.deleteQueue(q).catch(() => undefined);
  await w.client.close();
}
