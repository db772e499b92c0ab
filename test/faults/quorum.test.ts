/**
 * Quorum queues (issue 18): `defaultQueueType: 'quorum'` declares every task queue as a quorum
 * queue; countdown tasks and far-future etas go through Celery 5.5's native delayed delivery
 * (celery_delayed_0..27, binary routing keys), whose declarations match kombu's argument for
 * argument (kombu redeclares them without PRECONDITION_FAILED) and which delivers a task
 * published the way a Celery 5.5 client does. On the private node (a one-node "cluster").
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { App } from 'celeryts';
import { eventually } from '../support/harness.js';
import { client, endedIds, runs, setup, startWorker, terminate, type Setup } from './kit.js';
import { privateRabbit, type PrivateRabbit } from './private-rabbit.js';
import type { WorkerProcess } from '../support/harness.js';

const PY = '/usr/bin/python3';

/** Run Python with kombu (Debian's 5.2) against the private node. */
function python(script: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync(PY, ['-c', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

async function queueTable(rabbit: PrivateRabbit): Promise<Map<string, { type: string; messages: number; args: string }>> {
  const out = await rabbit.ctl('list_queues', 'name', 'type', 'messages', 'arguments');
  const rows = new Map<string, { type: string; messages: number; args: string }>();
  for (const line of out.split('\n').slice(1)) {
    const [name, type, messages, args] = line.split('\t');
    if (name) rows.set(name, { type: type ?? '', messages: Number(messages), args: args ?? '' });
  }
  return rows;
}

/** Wait until a message waits in one of the celery_delayed_* levels. */
function untilParked(rabbit: PrivateRabbit, what: string): Promise<unknown> {
  const parked = async () => [...(await queueTable(rabbit))].some(([name, q]) => name.startsWith('celery_delayed_') && q.messages > 0);
  return eventually(parked, 7000, `${what} in a celery_delayed_* queue`);
}

describe('quorum queues and native delayed delivery (private node)', () => {
  let rabbit: PrivateRabbit;
  let s: Setup;
  let w: WorkerProcess;
  let app: App;
  before(async () => {
    rabbit = await privateRabbit();
    s = setup(rabbit, 'quorum', { FAULTS_QUEUE_TYPE: 'quorum' });
    w = await startWorker(s, ['-c', '4', '--acks-late']);
    app = await client(s, { defaultQueueType: 'quorum' });
  });
  after(async () => {
    await terminate(w);
    await app.close();
  });

  it("declares the task queue as a quorum queue, and the 28 levels exactly as kombu's native_delayed_delivery does", async () => {
    const table = await queueTable(rabbit);
    assert.equal(table.get(s.queue)?.type, 'quorum', `task queue type: ${JSON.stringify(table.get(s.queue))}`);
    for (let level = 0; level < 28; level++) assert.equal(table.get(`celery_delayed_${level}`)?.type, 'quorum', `level ${level}`);
    // kombu redeclares every level with its own arguments: any difference is a 406 here.
    python(
      `
import os
from kombu import Connection, Exchange, Queue
with Connection(os.environ['URL']) as conn:
    ch = conn.channel()
    for level in range(27, -1, -1):
        name = 'celery_delayed_%d' % level
        Exchange(name, type='topic').bind(ch).declare()
        Queue(name, queue_arguments={
            'x-queue-type': 'quorum',
            'x-overflow': 'reject-publish',
            'x-message-ttl': (2 ** level) * 1000,
            'x-dead-letter-exchange': 'celery_delayed_%d' % (level - 1) if level > 0 else 'celery_delayed_delivery',
            'x-dead-letter-strategy': 'at-least-once',
        }).bind(ch).declare()
    Exchange('celery_delayed_delivery', type='topic').bind(ch).declare()
`,
      { URL: rabbit.url },
    );
    const bindings = await rabbit.ctl('list_bindings', 'source_name', 'destination_name', 'destination_kind', 'routing_key');
    const has = (src: string, dst: string, kind: string, key: string) => bindings.split('\n').some((l) => l === [src, dst, kind, key].join('\t'));
    assert.ok(has('celery_delayed_27', 'celery_delayed_27', 'queue', '1.#'), 'level 27 keeps a 1 in the first digit');
    assert.ok(has('celery_delayed_27', 'celery_delayed_26', 'exchange', '0.#'), 'level 27 passes a 0 down');
    assert.ok(has('celery_delayed_0', 'celery_delayed_delivery', 'exchange', `${'*.'.repeat(27)}0.#`), 'level 0 hands over to delivery');
    assert.ok(has('celery_delayed_delivery', s.queue, 'queue', `#.${s.queue}`), 'the task queue is bound to the delivery exchange');
  });

  it('runs a countdown task published the way a Celery 5.5 client does (to celery_delayed_27, binary routing key)', async () => {
    const sent = Date.now();
    python(
      `
import os, datetime
from celery import Celery
app = Celery(broker=os.environ['URL'])
countdown = 3
key = '.'.join(format(countdown, '028b')) + '.' + os.environ['QUEUE']
app.send_task('faults.record', args=['py-countdown', 0], exchange='celery_delayed_27', routing_key=key,
              eta=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=countdown), ignore_result=True)
`,
      { URL: rabbit.url, QUEUE: s.queue },
    );
    await eventually(() => endedIds(s.record).has('py-countdown'), 20_000, 'the Celery 5.5-style countdown task to run');
    const ran = runs(s.record).find((r) => r.id === 'py-countdown')!;
    assert.ok(ran.at - sent >= 2500, `ran ${ran.at - sent} ms after it was sent, before its countdown`);
  });

  it('sends its own countdown tasks through the levels, and parks a far-future eta there (no classic queue involved)', async () => {
    const before = await queueTable(rabbit);
    const sent = Date.now();
    // Long enough for rabbitmqctl (seconds per call on a busy machine) to see it parked.
    await app.sendTask('faults.record', ['ts-countdown', 0], {}, { countdown: 8, ignoreResult: true });
    // Parked by the broker, not held by the worker: the message waits in a level queue.
    await untilParked(rabbit, 'the countdown task');
    await eventually(() => endedIds(s.record).has('ts-countdown'), 20_000, 'the countdown task to run');
    assert.ok(runs(s.record).find((r) => r.id === 'ts-countdown')!.at - sent >= 7000, 'it ran after its countdown');
    const after = await queueTable(rabbit);
    const newClassic = [...after.keys()].filter((n) => n.startsWith('celeryts.delay.') && !before.has(n));
    assert.deepEqual(newClassic, [], 'no classic delay tier declared for a quorum queue');
  });

  it('parks a far-future eta that arrived on the queue itself in the quorum levels until near its time', async () => {
    const sent = Date.now();
    // A plain eta task straight to the queue (a Celery 5.2 client with a quorum queue): the worker hands it back.
    python(
      `
import os, datetime
from celery import Celery
from kombu import Queue
app = Celery(broker=os.environ['URL'])
app.conf.task_queues = [Queue(os.environ['QUEUE'], queue_arguments={'x-queue-type': 'quorum'})]
app.send_task('faults.record', args=['parked', 0], queue=os.environ['QUEUE'], routing_key=os.environ['QUEUE'],
              eta=datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=8), ignore_result=True)
`,
      { URL: rabbit.url, QUEUE: s.queue },
    );
    await untilParked(rabbit, 'the parked task');
    await eventually(() => endedIds(s.record).has('parked'), 20_000, 'the parked task to run');
    assert.ok(runs(s.record).find((r) => r.id === 'parked')!.at - sent >= 7000, 'it ran at its eta, not before');
  });
});
