import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Headers, MessageProperties } from '../../src/core/broker.js';
import { decodeResult, encodeResult } from '../../src/core/wire/result.js';
import { decodeTask, decodeTaskHeaders, encodeTask } from '../../src/core/wire/task.js';
import { serializeError } from '../../src/core/wire/exception.js';
import { NotRegisteredError, MalformedMessageError } from '../../src/core/errors.js';
import { protocolFixture } from '../support/helpers.js';

interface Captured {
  headers: Headers;
  properties: {
    content_type: string;
    content_encoding: string;
    delivery_mode: number;
    correlation_id: string;
    reply_to: string;
    priority?: number;
    expiration?: string;
  };
  body: unknown;
}
const messages = protocolFixture<{ messages: Captured[] }>('task-messages').messages;
const props = (m: Captured): MessageProperties => ({
  contentType: m.properties.content_type,
  contentEncoding: m.properties.content_encoding,
  correlationId: m.properties.correlation_id,
  replyTo: m.properties.reply_to,
  ...(m.properties.priority !== undefined ? { priority: m.properties.priority } : {}),
});
const decode = (m: Captured) => decodeTask(m.headers, props(m), Buffer.from(JSON.stringify(m.body)));

describe('protocol v2 codec against messages captured from Python Celery 5.2.6', () => {
  it('decodes every captured message: task, id, args, kwargs, reply_to', () => {
    assert.equal(messages.length, 7);
    for (const m of messages) {
      const t = decode(m);
      assert.equal(t.task, 'proj.tasks.add');
      assert.equal(t.id, m.headers['id']);
      assert.deepEqual(t.args, (m.body as unknown[])[0]);
      assert.equal(t.replyTo, m.properties.reply_to);
      assert.equal(t.correlationId, t.id);
    }
  });

  it('reads eta, expires and kwargs from a countdown/expires call', () => {
    const t = decode(messages[1]!);
    assert.equal(t.eta, '2026-11-24T08:43:32.964694+00:00');
    assert.equal(t.expires, '2026-11-24T08:53:02.964694+00:00');
    assert.deepEqual(t.args, [2]);
    assert.deepEqual(t.kwargs, { y: 3 });
    assert.equal(t.priority, 5);
  });

  it('reads link and link_error callbacks', () => {
    const t = decode(messages[2]!);
    assert.deepEqual(
      t.embed.callbacks?.map((s) => [s.task, s.args]),
      [['proj.tasks.add', [10]]],
    );
    assert.deepEqual(
      t.embed.errbacks?.map((s) => s.task),
      ['proj.tasks.on_err'],
    );
  });

  it('reads a chain stored reversed: the next task is the last element', () => {
    const t = decode(messages[3]!);
    const chain = t.embed.chain!;
    assert.equal(chain.length, 2);
    assert.deepEqual(chain[chain.length - 1]!.args, [3], 'add.s(3) runs next');
    assert.deepEqual(chain[0]!.args, [4], 'add.s(4) runs last');
    assert.equal(chain[1]!.options['task_id'], 'f0257a9d-243e-4a04-9351-389d574ea2b2');
  });

  it('reads group membership', () => {
    const [a, b] = [decode(messages[4]!), decode(messages[5]!)];
    assert.equal(a.group, 'a4851d72-2384-4e81-acf2-c9cfb3cd3958');
    assert.equal(a.group, b.group);
  });

  it('reads time limits as [hard, soft], retries, and datetime/uuid args as strings', () => {
    const t = decode(messages[6]!);
    assert.deepEqual(t.timelimit, [30, 20]);
    assert.equal(t.retries, 2);
    assert.deepEqual(t.args, ['2026-01-02T03:04:05', '00000000-0000-0000-0000-000000000001']);
  });

  it("accepts newer kombu's {__type__, __value__} wrapping as the plain value", () => {
    const m = messages[6]!;
    const body = [
      [
        { __type__: 'datetime', __value__: '2026-01-02T03:04:05' },
        { __type__: 'uuid', __value__: '00000000-0000-0000-0000-000000000001' },
      ],
      {},
      {},
    ];
    const t = decodeTask(m.headers, props(m), Buffer.from(JSON.stringify(body)));
    assert.deepEqual(t.args, ['2026-01-02T03:04:05', '00000000-0000-0000-0000-000000000001']);
  });

  it('encodes what Python sends: same header keys, properties and body shape', () => {
    for (const m of messages) {
      const t = decode(m);
      const out = encodeTask({
        id: t.id,
        task: t.task,
        args: t.args,
        kwargs: t.kwargs,
        eta: t.eta,
        expires: t.expires,
        retries: t.retries,
        timelimit: t.timelimit,
        rootId: t.rootId,
        parentId: t.parentId,
        group: t.group,
        groupIndex: t.groupIndex,
        origin: t.origin,
        replyTo: t.replyTo,
        priority: t.priority,
        callbacks: t.embed.callbacks,
        errbacks: t.embed.errbacks,
        chain: t.embed.chain,
      });
      assert.deepEqual(Object.keys(out.headers).sort(), Object.keys(m.headers).sort());
      // argsrepr is Python's repr(); it matches wherever the args are plain JSON values
      // (the datetime/UUID message shows Python objects celeryts never had).
      const plain = !String(m.headers['argsrepr']).includes('datetime');
      for (const key of [
        'task',
        'id',
        'eta',
        'expires',
        'group',
        'retries',
        'timelimit',
        'root_id',
        'parent_id',
        'kwargsrepr',
        'ignore_result',
        'lang',
        ...(plain ? ['argsrepr'] : []),
      ]) {
        assert.deepEqual(out.headers[key], m.headers[key], `header ${key} of ${t.id}`);
      }
      assert.deepEqual(JSON.parse(out.body.toString()), m.body);
      assert.equal(out.properties.contentType, 'application/json');
      assert.equal(out.properties.contentEncoding, 'utf-8');
      assert.equal(out.properties.deliveryMode, 2);
      assert.equal(out.properties.correlationId, t.id);
      assert.equal(out.properties.replyTo, m.properties.reply_to);
    }
  });

  it('refuses messages that are not protocol v2 with MalformedMessageError', () => {
    const m = messages[0]!;
    assert.throws(() => decodeTaskHeaders({}), MalformedMessageError);
    assert.throws(() => decodeTaskHeaders({ task: 'x' }), /missing 'id'/);
    assert.throws(() => decodeTask(m.headers, props(m), Buffer.from('{not json')), /not valid JSON/);
    assert.throws(() => decodeTask(m.headers, props(m), Buffer.from('{"args": []}')), /\[args, kwargs, embed\]/);
    assert.throws(() => decodeTask(m.headers, { ...props(m), contentType: 'application/x-python-serialize' }, Buffer.from('x')), /unsupported content type/);
  });

  it('refuses links the worker could not send after the task ran (found by the fuzz suite, which they stalled)', () => {
    const m = messages[0]!;
    const withLink = (sig: unknown) => Buffer.from(JSON.stringify([[1], {}, { callbacks: [sig], errbacks: null, chain: null, chord: null }]));
    for (const bad of [{ task: 'x', args: 1 }, { task: 'x', args: [], options: 'fast' }, { task: 'x', kwargs: [] }, { args: [] }]) {
      assert.throws(() => decodeTask(m.headers, props(m), withLink(bad)), /embed 'callbacks' must be a list of signatures/, JSON.stringify(bad));
    }
    const ok = decodeTask(m.headers, props(m), withLink({ task: 'x', args: [2], kwargs: {}, options: {}, immutable: false, subtask_type: null }));
    assert.deepEqual(ok.embed.callbacks?.[0]?.args, [2]);
  });
});

describe('rpc result messages against replies captured from Python Celery 5.2.6', () => {
  const replies = protocolFixture<{
    replies: { properties: { correlationId: string; deliveryMode: number; contentType: string }; body: Record<string, unknown> }[];
  }>('rpc-replies').replies;

  it('decodes SUCCESS, NotRegistered and exception replies', () => {
    const [ok, notReg, exc] = replies.map((r) => decodeResult(Buffer.from(JSON.stringify(r.body))));
    assert.equal(ok!.status, 'SUCCESS');
    assert.equal(ok!.result, 5);
    assert.deepEqual(notReg!.result, { exc_type: 'NotRegistered', exc_message: ['proj.tasks.nope'], exc_module: 'celery.exceptions' });
    assert.equal((exc!.result as { exc_type: string }).exc_type, 'TypeError');
    assert.match(exc!.traceback!, /TypeError/);
  });

  it('encodes results with the same keys and properties Python uses', () => {
    for (const r of replies) {
      const out = encodeResult(r.body as never);
      assert.deepEqual(Object.keys(JSON.parse(out.body.toString())).sort(), Object.keys(r.body).sort());
      assert.equal(out.properties.correlationId, r.properties.correlationId);
      assert.equal(out.properties.deliveryMode, r.properties.deliveryMode);
      assert.equal(out.properties.contentType, r.properties.contentType);
    }
  });

  it('serialises errors as Python expects them: NotRegistered from celery.exceptions, JS TypeError as builtins.TypeError', () => {
    assert.deepEqual(serializeError(new NotRegisteredError('proj.tasks.nope')), replies[1]!.body['result']);
    assert.deepEqual(serializeError(new TypeError('bad')), { exc_type: 'TypeError', exc_message: ['bad'], exc_module: 'builtins' });
  });
});
