/** The worker's async pool and rate limiter, alone: no broker, fake time where time matters. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AsyncPool } from '../../src/worker/async-pool.js';
import { Autoscaler } from '../../src/worker/autoscaler.js';
import { RateLimiter } from '../../src/worker/rate-limiter.js';

/** A job that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const done = new Promise<void>((r) => (open = r));
  return { done, open };
}

describe('async pool', () => {
  it('resize: growing starts waiting jobs at once; shrinking lets running ones finish and starts none until below the new size', async () => {
    const gates = new Map<number, ReturnType<typeof gate>>();
    const started: number[] = [];
    const pool = new AsyncPool<number>(1, (n) => {
      started.push(n);
      const g = gate();
      gates.set(n, g);
      return g.done;
    });
    for (const n of [1, 2, 3, 4, 5]) pool.submit(n);
    pool.resize(3);
    assert.deepEqual(started, [1, 2, 3]);
    pool.resize(1);
    gates.get(1)!.open();
    gates.get(2)!.open();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [1, 2, 3], 'two finished, but one still runs: at the new size of 1');
    gates.get(3)!.open();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [1, 2, 3, 4]);
    assert.equal(pool.active, 1);
  });

  it('autoscaler: grows to the work at once (up to max), shrinks (down to min) only after the keepalive', () => {
    const pool = {
      concurrency: 5,
      active: 0,
      waitingCount: 0,
      resize(n: number) {
        this.concurrency = n;
      },
    };
    const scaler = new Autoscaler(pool, 4, 1, 30);
    assert.equal(pool.concurrency, 1, 'starts at min');
    pool.active = 1;
    pool.waitingCount = 9;
    scaler.scale(1000);
    assert.equal(pool.concurrency, 4, 'grown to max');
    pool.active = 0;
    pool.waitingCount = 0;
    scaler.scale(20_000);
    assert.equal(pool.concurrency, 4, 'kept within the keepalive');
    scaler.scale(32_000);
    assert.equal(pool.concurrency, 1, 'shrunk to min after it');
    assert.deepEqual(scaler.update(2, 2), [2, 2]);
    assert.equal(pool.concurrency, 2, 'raised to the new min');
  });

  it('runs at most `concurrency` jobs, starts waiting ones oldest first as slots free, then is idle', async () => {
    const gates = new Map<number, ReturnType<typeof gate>>();
    const started: number[] = [];
    const pool = new AsyncPool<number>(2, (n) => {
      started.push(n);
      const g = gate();
      gates.set(n, g);
      return g.done;
    });
    for (const n of [1, 2, 3, 4]) pool.submit(n);
    assert.deepEqual(started, [1, 2]);
    assert.deepEqual([pool.active, pool.waitingCount, [...pool.waiting()]], [2, 2, [3, 4]]);
    let idle = false;
    void pool.onIdle().then(() => (idle = true));
    gates.get(2)!.open();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [1, 2, 3], 'the freed slot goes to the oldest waiting job');
    for (const n of [1, 3]) gates.get(n)!.open();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(started, [1, 2, 3, 4]);
    assert.equal(idle, false, 'not idle while a job runs');
    gates.get(4)!.open();
    await new Promise((r) => setImmediate(r));
    assert.equal(idle, true);
    assert.equal(pool.active, 0);
  });

  it('runs synchronous jobs in a loop, not by recursion: 100,000 queued jobs do not overflow the stack', () => {
    let ran = 0;
    const blocker = gate();
    const pool = new AsyncPool<number>(1, (n) => {
      if (n === 0) return blocker.done;
      ran++;
    });
    pool.submit(0);
    for (let i = 1; i <= 100_000; i++) pool.submit(i);
    assert.equal(pool.waitingCount, 100_000);
    blocker.open();
    return blocker.done.then(async () => {
      await new Promise((r) => setImmediate(r));
      assert.equal(ran, 100_000);
      assert.equal(pool.waitingCount, 0);
    });
  });

  it('a job that throws neither stops the pool nor leaks its slot', async () => {
    const seen: number[] = [];
    const pool = new AsyncPool<number>(1, (n) => {
      seen.push(n);
      if (n === 1) throw new Error('boom');
    });
    pool.submit(1);
    pool.submit(2);
    assert.deepEqual(seen, [1, 2]);
    assert.equal(pool.active, 0);
    await pool.onIdle();
  });

  it('takeWaiting hands back the reserved jobs (warm shutdown) and leaves running ones alone', () => {
    const g = gate();
    const pool = new AsyncPool<string>(1, () => g.done);
    for (const x of ['running', 'a', 'b']) pool.submit(x);
    assert.deepEqual(pool.takeWaiting(), ['a', 'b']);
    assert.deepEqual([pool.active, pool.waitingCount], [1, 0]);
    g.open();
  });
});

describe('rate limiter', () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('spaces a limited task by its rate, without holding up other tasks', async () => {
    const t0 = performance.now();
    const released: [string, number][] = [];
    const limiter = new RateLimiter<string>((x) => released.push([x, performance.now() - t0]), true);
    limiter.setLimit('slow', '20/s');
    for (const x of ['s1', 's2', 's3']) limiter.admit('slow', x);
    limiter.admit('fast', 'f1');
    assert.deepEqual(
      released.map(([x]) => x),
      ['s1', 'f1'],
      'the first token is there at once; other tasks pass',
    );
    assert.deepEqual([...limiter.held()], ['s2', 's3']);
    while (released.length < 4) await sleep(10);
    assert.deepEqual(
      released.map(([x]) => x),
      ['s1', 'f1', 's2', 's3'],
    );
    const at = Object.fromEntries(released);
    assert.ok(at['s2']! >= 45 && at['s3']! - at['s2']! >= 45, `20/s: about 50 ms apart (${JSON.stringify(at)})`);
  });

  it('a new limit re-times what waits; removing it releases everything; disabled passes all', async () => {
    const released: string[] = [];
    const limiter = new RateLimiter<string>((x) => released.push(x), true);
    limiter.setLimit('t', '1/h');
    for (const x of ['a', 'b', 'c']) limiter.admit('t', x);
    assert.deepEqual(released, ['a']);
    limiter.setLimit('t', '50/s');
    await sleep(35);
    assert.deepEqual(released, ['a', 'b'], 'the waiting request was re-timed to the new rate');
    limiter.setLimit('t', null);
    assert.deepEqual(released, ['a', 'b', 'c']);

    const off = new RateLimiter<string>((x) => released.push(x), false);
    off.setLimit('t', '1/h');
    off.admit('t', 'x');
    off.admit('t', 'y');
    assert.deepEqual(released.slice(-2), ['x', 'y'], 'disableRateLimits');
  });

  it('takeHeld hands back held requests and stops the timers (shutdown)', async () => {
    const released: string[] = [];
    const limiter = new RateLimiter<string>((x) => released.push(x), true);
    limiter.setLimit('t', '50/s');
    for (const x of ['a', 'b', 'c']) limiter.admit('t', x);
    assert.deepEqual(limiter.takeHeld(), ['b', 'c']);
    await sleep(60);
    assert.deepEqual(released, ['a'], 'nothing released after shutdown took them');
  });
});
