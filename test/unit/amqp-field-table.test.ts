import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toFieldTable } from '../../src/transport/amqp/field-table.js';
import { toAssertQueueOptions, toPublishOptions } from '../../src/transport/amqp/mapping.js';

describe('AMQP field tables typed for py-amqp', () => {
  it('types every integer as a signed 32-bit I (64-bit past it) and fractions as doubles, nested too', () => {
    assert.deepEqual(
      toFieldTable({ clock: 300, n: -1, big: 2 ** 31, neg: -(2 ** 40), f: 0.5, l: [128, { x: 40000 }], s: 'a', b: true, z: null, u: undefined }),
      {
        clock: { '!': 'int', value: 300 },
        n: { '!': 'int', value: -1 },
        big: { '!': 'long', value: 2 ** 31 },
        neg: { '!': 'double', value: -(2 ** 40) },
        f: { '!': 'double', value: 0.5 },
        l: [{ '!': 'int', value: 128 }, { x: { '!': 'int', value: 40000 } }],
        s: 'a',
        b: true,
        z: null,
      },
    );
  });

  it("republishes values amqplib decoded with a type (the broker's x-death timestamps) as they came", () => {
    const time = { '!': 'timestamp', value: 1_795_976_000 };
    const xDeath = [{ count: 1, reason: 'expired', queue: 'celeryts.delay.1000', time }];
    assert.deepEqual(toFieldTable({ 'x-death': xDeath }), {
      'x-death': [{ count: { '!': 'int', value: 1 }, reason: 'expired', queue: 'celeryts.delay.1000', time }],
    });
    // amqplib can encode the result (it threw "Cannot convert [object Object] to a BigInt").
    assert.doesNotThrow(() => toPublishOptions({ body: Buffer.alloc(0), headers: { 'x-death': xDeath } as never, properties: {} }));
  });

  it('applies to published headers and queue arguments', () => {
    const p = toPublishOptions({ body: Buffer.alloc(0), headers: { timelimit: [300, null] }, properties: {} });
    assert.deepEqual(p.headers, { timelimit: [{ '!': 'int', value: 300 }, null] });
    const q = toAssertQueueOptions({ expiresMs: 10_000, messageTtlMs: 300, queueType: 'quorum' });
    assert.deepEqual(q.arguments, { 'x-expires': { '!': 'int', value: 10_000 }, 'x-message-ttl': { '!': 'int', value: 300 }, 'x-queue-type': 'quorum' });
    assert.equal(q.expires, undefined);
  });
});
