import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParkedTasks } from '../../src/worker/parked-tasks.js';

describe('parked tasks (far-eta tasks a worker handed back to the broker)', () => {
  const task = (due: number) => ({ due, eta: new Date(due).toISOString(), request: { id: String(due) } });

  it('lists them until they come back (take) or are past due by the grace (came back elsewhere)', () => {
    const p = new ParkedTasks(10, 1000);
    p.add('a', task(5000));
    p.add('b', task(6000));
    assert.equal(p.take('a'), true);
    assert.equal(p.take('a'), false, 'taken once');
    assert.deepEqual(
      p.entries(6500).map(([id]) => id),
      ['b'],
    );
    assert.deepEqual(p.entries(7001), [], 'dropped once past due + grace');
  });

  it('holds at most `limit` records', () => {
    const p = new ParkedTasks(2, 1000);
    const later = Date.now() + 60_000;
    for (const id of ['a', 'b', 'c']) p.add(id, task(later));
    assert.deepEqual(
      p.entries().map(([id]) => id),
      ['a', 'b'],
    );
  });
});
