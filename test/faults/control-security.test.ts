/**
 * Issue 13.9: remote control is no longer open to anyone who can publish to the vhost. With
 * `controlSecret`, unsigned, badly signed and replayed requests are refused and logged while a
 * signed client is obeyed; `--control-commands` refuses the others; `--without-remote-control`
 * answers nothing; and a queue added with add_consumer whose tasks the worker does not know
 * loses nothing: they go to the dead-letter queue, and `dlq replay` gives them back. Private
 * RabbitMQ node.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { createBroker, type App, type Broker } from 'celeryts';
import { signControl } from '../../src/core/control-signature.js';
import { cli, eventually } from '../support/harness.js';
import { client, FAULTS_APP, logLines, nodeOf, setup, startWorker, terminate } from './kit.js';
import { privateRabbit, type PrivateRabbit } from './private-rabbit.js';

const SECRET = `s3cret-${randomUUID()}`;

/** A pidbox request as a client publishes it, to `node`, without a reply. */
function request(method: string, node: string): Buffer {
  return Buffer.from(JSON.stringify({ method, arguments: {}, destination: [node], pattern: null, matcher: null }));
}

const refusals = (output: string) =>
  logLines(output)
    .filter((l) => /^Refused control command/.test(String(l['msg'])))
    .map((l) => `${l['method']}: ${l['why'] ?? 'not allowed'}`);

describe('remote control security (private RabbitMQ)', () => {
  let rabbit: PrivateRabbit;
  let admin: Broker;
  const apps: App[] = [];
  before(async () => {
    rabbit = await privateRabbit();
    admin = await createBroker(rabbit.url);
    await admin.connect();
  });
  after(async () => {
    for (const a of apps) await a.close();
    await admin.close();
  });
  const publishRaw = (body: Buffer, headers: Record<string, string | number>) =>
    admin.publish('celery.pidbox', '', { body, headers, properties: { contentType: 'application/json', contentEncoding: 'utf-8' } });

  it('controlSecret: unsigned, badly signed and replayed requests are refused and logged; a signed client is obeyed', async () => {
    const s = setup(rabbit, 'signed', { FAULTS_CONTROL_SECRET: SECRET });
    const w = await startWorker(s);
    const node = nodeOf(w);
    const stranger = await client(s);
    const trusted = await client(s, { controlSecret: SECRET });
    apps.push(stranger, trusted);

    assert.deepEqual(await (await stranger.control()).broadcast('ping', {}, { destination: [node], timeout: 1 }), {}, 'no answer to an unsigned ping');
    await (await stranger.control()).broadcast('shutdown', {}, { destination: [node], reply: false });
    const forged = request('shutdown', node);
    await publishRaw(forged, signControl(forged, 'not-the-secret-at-all') as Record<string, number | string>);
    const stale = request('shutdown', node);
    await publishRaw(stale, signControl(stale, SECRET, Date.now() - 3_600_000) as Record<string, number | string>);
    const captured = request('ping', node);
    const headers = signControl(captured, SECRET) as Record<string, number | string>;
    await publishRaw(captured, headers);
    await publishRaw(captured, headers); // the same bytes again: a replay
    await eventually(() => refusals(w.output()).length >= 5, 10_000, 'five refusals logged');
    await sleep(300);
    assert.equal(w.child.exitCode, null, 'still running: no shutdown obeyed');
    const refused = refusals(w.output());
    assert.deepEqual(refused.slice(0, 2), ['ping: unsigned', 'shutdown: unsigned']);
    assert.equal(refused[2], 'shutdown: bad signature');
    assert.match(refused[3]!, /^shutdown: signed 360[01]s ago, outside the 60s window$/);
    assert.match(refused[4]!, /^ping: a replay/);
    assert.equal(refused.length, 5, 'the first copy of the captured ping was obeyed');
    assert.doesNotMatch(w.output(), new RegExp(SECRET), 'the secret is never logged');

    assert.deepEqual(await (await trusted.control()).broadcast('ping', {}, { destination: [node], timeout: 3 }), { [node]: { ok: 'pong' } });
    await (await trusted.control()).broadcast('shutdown', {}, { destination: [node], reply: false });
    assert.equal(await w.exited, 0, 'a signed shutdown is obeyed');
    console.log(`controlSecret: refused ${refused.join('; ')}; a signed ping and shutdown obeyed`);
  });

  it('--control-commands ping,stats: other commands are refused with an error and logged', async () => {
    const s = setup(rabbit, 'allow');
    const w = await startWorker(s, ['--control-commands', 'ping,stats']);
    const node = nodeOf(w);
    const app = await client(s);
    apps.push(app);
    const control = await app.control();
    assert.deepEqual(await control.broadcast('ping', {}, { destination: [node], timeout: 3 }), { [node]: { ok: 'pong' } });
    const answer = await control.broadcast('shutdown', {}, { destination: [node], timeout: 3 });
    assert.match(String((answer[node] as { error?: string })?.error), /not allowed on this worker/);
    await sleep(300);
    assert.equal(w.child.exitCode, null, 'not shut down');
    assert.deepEqual(refusals(w.output()), ['shutdown: not allowed']);
    assert.equal(await terminate(w), 0);
  });

  it('--without-remote-control: no answer, no pidbox queue, shutdown ignored', async () => {
    const s = setup(rabbit, 'deaf');
    const w = await startWorker(s, ['--without-remote-control']);
    const node = nodeOf(w);
    const app = await client(s);
    apps.push(app);
    const control = await app.control();
    assert.deepEqual(await control.broadcast('ping', {}, { destination: [node], timeout: 1 }), {});
    await control.broadcast('shutdown', {}, { destination: [node], reply: false });
    await sleep(500);
    assert.equal(w.child.exitCode, null);
    assert.equal(await admin.queueSize(`${node}.celery.pidbox`), undefined, 'no pidbox queue');
    assert.equal(await terminate(w), 0);
  });

  it('add_consumer of a queue whose tasks this worker does not know: they go to the dead-letter queue, not destroyed; dlq replay gives them back', async () => {
    const dlq = `faults.dlq.${randomUUID().slice(0, 8)}`;
    const s = setup(rabbit, 'foreign', { FAULTS_DLQ: dlq });
    const foreign = `faults.foreign.${randomUUID().slice(0, 8)}`;
    const app = await client(s);
    apps.push(app);
    const ids = Array.from({ length: 20 }, (_, i) => `foreign-${i}-${randomUUID().slice(0, 8)}`);
    await admin.declareQueue(foreign, { durable: true });
    for (const id of ids) await app.sendTask('other.app.task', [id], {}, { queue: foreign, taskId: id, ignoreResult: true });
    const w = await startWorker(s);
    const node = nodeOf(w);
    const control = await app.control();
    assert.ok((await control.broadcast('add_consumer', { queue: foreign }, { destination: [node], timeout: 3 }))[node]);
    await eventually(async () => (await admin.queueSize(dlq)) === ids.length, 15_000, 'every foreign task in the dead-letter queue');
    assert.equal(await admin.queueSize(foreign), 0);
    await control.broadcast('cancel_consumer', { queue: foreign }, { destination: [node], timeout: 3 });
    const list = cli(['dlq', 'list', '--queue', dlq, '--json'], { cwd: FAULTS_APP, env: { CELERYTS_BROKER_URL: rabbit.url } });
    const listed = list.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; reason: string; queue: string });
    assert.deepEqual(listed.map((m) => m.id).sort(), [...ids].sort());
    assert.ok(listed.every((m) => m.reason === 'not_registered' && m.queue === foreign));
    const replay = cli(['dlq', 'replay', '--all', '--queue', dlq], { cwd: FAULTS_APP, env: { CELERYTS_BROKER_URL: rabbit.url } });
    assert.equal(replay.status, 0, replay.stderr);
    await eventually(async () => (await admin.queueSize(foreign)) === ids.length, 10_000, 'all back in their queue');
    assert.equal(await admin.queueSize(dlq), 0);
    assert.equal(await terminate(w), 0);
    await admin.deleteQueue(foreign);
    console.log(`add_consumer of a foreign queue: ${ids.length} unknown tasks dead-lettered (not destroyed), replayed back to ${foreign}`);
  });
});
