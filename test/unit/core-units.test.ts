import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { canonicalModuleName, moduleCandidates } from '../../src/core/naming.js';
import { bindArguments, paramSpec } from '../../src/core/params.js';
import { parseRateLimit, TokenBucket } from '../../src/core/rate-limit.js';
import { closest, TaskRegistry } from '../../src/core/registry.js';
import { task } from '../../src/core/task.js';
import { TaskNamingError } from '../../src/core/errors.js';
import { EtaSchedule } from '../../src/worker/eta-schedule.js';
import { expandNodeName } from '../../src/worker/node-name.js';

describe('naming rule', () => {
  const root = '/srv/app/tasks-example';
  it('derives proj.tasks from tasks-example/proj/tasks.ts, dropping extension and /index', () => {
    assert.equal(canonicalModuleName(path.join(root, 'proj/tasks.ts'), root), 'proj.tasks');
    assert.equal(canonicalModuleName(path.join(root, 'proj/tasks/index.mts'), root), 'proj.tasks');
    assert.equal(canonicalModuleName(path.join(root, 'a/b/c.js'), root), 'a.b.c');
  });
  it('refuses a module outside the root', () => {
    assert.throws(() => canonicalModuleName('/elsewhere/x.ts', root), TaskNamingError);
  });
  it('resolves dotted names like Python imports: file first, then package index', () => {
    assert.deepEqual(moduleCandidates('proj.tasks').slice(0, 4), ['proj/tasks.ts', 'proj/tasks.mts', 'proj/tasks.js', 'proj/tasks.mjs']);
    assert.ok(moduleCandidates('proj.tasks').includes('proj/tasks/index.ts'));
    assert.deepEqual(moduleCandidates('../escape'), []);
  });
});

describe('registry', () => {
  it('refuses two tasks with one name, naming both files', () => {
    const reg = new TaskRegistry();
    const a = task({ name: 'same' }, () => 1);
    const b = task({ name: 'same' }, () => 2);
    a.definingFile = '/x/a.ts';
    b.definingFile = '/x/b.ts';
    reg.register(a);
    assert.throws(() => reg.register(b), /\/x\/a\.ts.*\/x\/b\.ts/);
  });
  it('suggests close names for an unknown task', () => {
    assert.deepEqual(closest('proj.task.add', ['proj.tasks.add', 'proj.tasks.mul', 'other.thing']), ['proj.tasks.add']);
    assert.ok(closest('myapp.tasks.add', ['proj.tasks.add']).includes('proj.tasks.add'));
  });
});

describe('task options', () => {
  it('sets every option as an attribute, custom ones included, and handlers override methods', () => {
    const onSuccess = () => 'handled';
    const t = task({ acksLate: true, rateLimit: '5/s', custom: 42, onSuccess }, (x: number) => x);
    assert.equal(t.acksLate, true);
    assert.equal(t.rateLimit, '5/s');
    assert.equal((t as unknown as { custom: number }).custom, 42);
    assert.equal(t.onSuccess(1, 'id', [], {}), 'handled');
  });
  it('binds Python keyword arguments to JavaScript parameters by name', () => {
    const add = task((x: number, y = 10) => x + y);
    assert.equal(add.invoke([2], { y: 3 }), 5);
    assert.equal(add.invoke([], { x: 1, y: 2 }), 3);
    assert.throws(() => add.invoke([1], { z: 1 }), /unexpected keyword argument 'z'/);
    const withOpts = task((a: number, { scale = 1 }: { scale?: number } = {}) => a * scale);
    assert.equal(withOpts.invoke([2], { scale: 4 }), 8);
    const bound = task({ bind: true }, (self, x: number) => `${typeof self.run}:${x}`);
    assert.equal(bound.invoke([], { x: 7 }), 'function:7');
  });
  it("fails a call that leaves a required parameter empty with Python's TypeError, as Python would", () => {
    const add = task({ name: 'proj.tasks.add' }, (x: number, y: number) => x + y);
    assert.throws(() => add.invoke([1], {}), { name: 'TypeError', message: "add() missing 1 required positional argument: 'y'" });
    assert.throws(() => add.invoke([], {}), { message: "add() missing 2 required positional arguments: 'x' and 'y'" });
    assert.throws(() => add.invoke([], { y: 1 }), { message: "add() missing 1 required positional argument: 'x'" });
    const three = task({ name: 't.three' }, (a: number, b: number, c: number) => a + b + c);
    assert.throws(() => three.invoke([], {}), { message: "three() missing 3 required positional arguments: 'a', 'b', and 'c'" });
    const bound = task({ bind: true, name: 't.bound' }, (_self, x: number) => x);
    assert.throws(() => bound.invoke([], {}), { message: "bound() missing 1 required positional argument: 'x'" });
    // Defaults, destructured options and rest parameters are not required.
    assert.equal(task((x: number, y = 10) => x + y).invoke([1], {}), 11);
    assert.equal(task((a: number, { scale = 2 }: { scale?: number } = {}) => a * scale).invoke([3], {}), 6);
    assert.equal(task((...xs: number[]) => xs.length).invoke([], {}), 0);
    assert.deepEqual(
      [
        paramSpec((a: number, b = a === 1 ? 2 : 3, c?: number) => [a, b, c]).required,
        paramSpec(function f(a: string, b: string) {
          return a + b;
        }).required,
      ],
      [1, 2],
    );
  });
  it('reads parameter lists of arrows, functions and methods', () => {
    assert.deepEqual(paramSpec((a: number, b: string) => a + b).names, ['a', 'b']);
    assert.deepEqual(
      paramSpec(async function named(x: unknown, y: string = '(,)') {
        return [x, y];
      }).names,
      ['x', 'y'],
    );
    assert.deepEqual(
      bindArguments(
        paramSpec((p: number, q: number) => p + q),
        [1],
        { q: 2 },
      ),
      [1, 2],
    );
  });
});

describe('rate limits', () => {
  it("parses Celery's rate strings into tasks per second", () => {
    assert.equal(parseRateLimit('10/s'), 10);
    assert.equal(parseRateLimit('120/m'), 2);
    assert.equal(parseRateLimit('3600/h'), 1);
    assert.equal(parseRateLimit('5'), 5);
    assert.equal(parseRateLimit(null), null);
    assert.equal(parseRateLimit('0'), null);
    assert.throws(() => parseRateLimit('fast'), /Invalid rate limit/);
  });
  it('token bucket spaces takes by 1/rate', () => {
    let now = 0;
    const b = new TokenBucket(10, 1, () => now);
    assert.equal(b.take(), true);
    assert.equal(b.take(), false);
    assert.equal(Math.round(b.wait()), 100);
    now = 100;
    assert.equal(b.take(), true);
  });
});

describe('eta schedule', () => {
  it('releases held items in due order from one timer', async () => {
    const out: number[] = [];
    const s = new EtaSchedule<number>((n) => out.push(n));
    const now = Date.now();
    s.add(now + 60, 3);
    s.add(now + 20, 1);
    s.add(now + 40, 2);
    assert.equal(s.size, 3);
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(out, [1, 2, 3]);
  });
});

describe('node names', () => {
  it('expands %h, %n and %d like Celery', () => {
    assert.equal(expandNodeName('w1@%h', 'box.example.com'), 'w1@box.example.com');
    assert.equal(expandNodeName('w1@%n', 'box.example.com'), 'w1@box');
    assert.equal(expandNodeName('w1@%d', 'box.example.com'), 'w1@example.com');
    assert.equal(expandNodeName('solo', 'box'), 'solo@box');
  });
});
