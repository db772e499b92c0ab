import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { taskIds, truthy } from '../../src/worker/control-args.js';

describe('remote-control arguments read as Python reads them', () => {
  it("a flag is Python's truthiness: 1, '1', 'yes', [x], {k} and true are on", () => {
    for (const on of [true, 1, -1, 0.5, '1', '0', 'false', 'yes', [0], { a: 1 }]) assert.equal(truthy(on), true, JSON.stringify(on));
    for (const off of [false, 0, '', [], {}, null, undefined, Number.NaN]) assert.equal(truthy(off), false, JSON.stringify(off));
  });

  it('a task id argument is one id or a list of them', () => {
    assert.deepEqual(taskIds('a'), ['a']);
    assert.deepEqual(taskIds(['a', 'b']), ['a', 'b']);
    assert.deepEqual(taskIds(undefined), []);
  });
});
