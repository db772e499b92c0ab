/**
 * Beat's loop on a fake clock and an in-memory store shared by several instances: what is sent
 * when, exactly once, through leader changes, restarts, missed runs, failed sends and runtime
 * schedule changes. No real time passes: a day of crontab takes milliseconds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileEntry, type BeatEntry } from '../../src/beat/entry.js';
import { plan } from '../../src/beat/plan.js';
import { crontab, every, once } from '../../src/beat/schedule/spec.js';
import { Scheduler, type BeatLogger } from '../../src/beat/scheduler.js';
import { tickId } from '../../src/beat/tick-id.js';
import { FakeClock, MemoryBroker, MemoryStore } from './beat-fakes.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');

interface Sent {
  entry: string;
  due: number;
  id: string;
  by: string;
}

class Logs implements BeatLogger {
  readonly lines: { level: string; msg: string; obj: object }[] = [];
  debug(obj: object, msg: string) {
    this.lines.push({ level: 'debug', msg, obj });
  }
  info(obj: object, msg: string) {
    this.lines.push({ level: 'info', msg, obj });
  }
  warn(obj: object, msg: string) {
    this.lines.push({ level: 'warn', msg, obj });
  }
  error(obj: object, msg: string) {
    this.lines.push({ level: 'error', msg, obj });
  }
  has(re: RegExp): boolean {
    return this.lines.some((l) => re.test(l.msg));
  }
}

/** A world: one shared store, a clock, and a record of every tick any instance sent. */
class World {
  readonly broker = new MemoryBroker();
  readonly clock: FakeClock;
  readonly sent: Sent[] = [];
  readonly logs = new Logs();
  failSends = 0;
  constructor(start = T0) {
    this.clock = new FakeClock(start);
  }

  instance(name: string, config: Record<string, BeatEntry>, options: { graceMs?: number | null; pollMs?: number; tz?: string; canSend?: () => boolean } = {}) {
    const store = new MemoryStore(this.broker, name);
    const tz = options.tz ?? 'UTC';
    const scheduler = new Scheduler({
      store,
      configEntries: Object.entries(config).map(([n, e]) => compileEntry(n, e, 'config', tz)),
      defaultTz: tz,
      send: async (tick, id) => {
        if (this.failSends > 0) {
          this.failSends--;
          throw new Error('broker unreachable');
        }
        this.sent.push({ entry: tick.entry.name, due: tick.due, id, by: name });
      },
      taskId: tickId,
      clock: this.clock,
      log: this.logs,
      pollMs: options.pollMs ?? 1000,
      graceMs: options.graceMs ?? null,
      ...(options.canSend ? { canSend: options.canSend } : {}),
    });
    return { store, scheduler };
  }

  dues(entry: string): number[] {
    return this.sent.filter((s) => s.entry === entry).map((s) => s.due);
  }
}

/** Fire times anchor + k * period for k = from..to. */
const grid = (anchor: number, period: number, from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => anchor + (from + i) * period);

describe('plan: what is due', () => {
  const entry = (spec: BeatEntry, since?: number) => compileEntry('e', spec, since === undefined ? 'config' : 'runtime', 'UTC', since);

  it('a new interval entry is anchored at now: nothing due yet, the first tick one period later', () => {
    const p = plan([entry({ task: 't', schedule: 10 })], {}, T0, null);
    assert.deepEqual(p.send, []);
    assert.equal(p.changed, true, 'the anchor is recorded at once, so a leader change keeps the grid');
    assert.equal(p.wakeAt, T0 + 10_000);
  });

  it('a runtime entry written while no beat ran counts from when it was written', () => {
    const p = plan([entry({ task: 't', schedule: 10 }, T0)], {}, T0 + 25_000, null);
    assert.deepEqual(
      p.send.map((t) => t.due),
      [T0 + 20_000],
    );
    assert.equal(p.send[0]!.coalesced, true);
  });

  it('a missed tick later than the grace is skipped and recorded as handled', () => {
    const e = entry({ task: 't', schedule: crontab('0 4 * * *') });
    const last = Date.parse('2024-12-30T04:00:00Z');
    const now = Date.parse('2025-01-01T10:00:00Z');
    const state = { e: { last, total: 3, schedule: e.schedule.describe() } };
    const strict = plan([e], state, now, 3_600_000);
    assert.deepEqual(strict.send, []);
    assert.deepEqual(
      strict.skip.map((s) => new Date(s.due).toISOString()),
      ['2025-01-01T04:00:00.000Z'],
    );
    assert.equal(strict.state['e']!.last, Date.parse('2025-01-01T04:00:00Z'));
    assert.equal(strict.wakeAt, Date.parse('2025-01-02T04:00:00Z'));
    const lenient = plan([e], state, now, null);
    assert.deepEqual(
      lenient.send.map((t) => new Date(t.due).toISOString()),
      ['2025-01-01T04:00:00.000Z'],
      'two missed runs, sent once',
    );
  });

  it('a changed schedule starts afresh; a removed entry drops its state', () => {
    const e = entry({ task: 't', schedule: 10 });
    const p = plan([e], { e: { last: T0 - 86_400_000, total: 9, schedule: 'every 1h' }, gone: { last: T0, total: 1, schedule: 'every 1s' } }, T0, null);
    assert.deepEqual(p.send, []);
    assert.equal(p.state['e']!.last, T0);
    assert.equal(p.state['gone'], undefined);
  });
});

/** Two instances on one store, every 10 s: `a` started first and leads, `b` stands by. */
async function leaderAndStandby() {
  const w = new World();
  const config = { tick: { task: 'proj.tick', schedule: every('10s') } };
  const a = w.instance('a', config);
  const b = w.instance('b', config);
  a.scheduler.start();
  await w.clock.advance(1);
  b.scheduler.start();
  return { w, a, b };
}

describe('Scheduler on a fake clock', () => {
  it('sends every interval tick once, on the grid, with deterministic task ids', async () => {
    const w = new World();
    const { scheduler } = w.instance('a', { tick: { task: 'proj.tick', schedule: every('10s') } });
    scheduler.start();
    await w.clock.advance(65_000);
    await scheduler.stop();
    assert.deepEqual(w.dues('tick'), grid(T0, 10_000, 1, 6));
    assert.deepEqual(
      w.sent.map((s) => s.id),
      w.sent.map((s) => tickId('tick', s.due)),
    );
    assert.equal(w.broker.state['tick']!.total, 6);
  });

  it('runs a Berlin 02:30 crontab once on each of the DST days, driven across a week of fake time', async () => {
    const w = new World(Date.parse('2025-03-28T00:00:00Z'));
    const { scheduler } = w.instance('a', { night: { task: 'proj.night', schedule: crontab('30 2 * * *', { tz: 'Europe/Berlin' }) } }, { pollMs: 600_000 });
    scheduler.start();
    await w.clock.advance(4 * 86_400_000);
    await scheduler.stop();
    assert.deepEqual(
      w.dues('night').map((d) => new Date(d).toISOString()),
      ['2025-03-28T01:30:00.000Z', '2025-03-29T01:30:00.000Z', '2025-03-30T01:00:00.000Z', '2025-03-31T00:30:00.000Z'],
    );
  });

  it('one of two instances leads; when it dies the other takes over within a poll and no tick is sent twice or skipped', async () => {
    const { w, a, b } = await leaderAndStandby();
    await w.clock.advance(35_000);
    assert.equal(a.scheduler.role, 'leading');
    assert.equal(b.scheduler.role, 'standby');
    assert.ok(w.sent.every((s) => s.by === 'a'));
    a.store.kill();
    await w.clock.advance(1500);
    assert.equal(b.scheduler.role, 'leading', 'the standby took over within a poll interval');
    await w.clock.advance(40_000);
    await Promise.all([a.scheduler.stop(), b.scheduler.stop()]);
    assert.deepEqual(w.dues('tick'), grid(T0, 10_000, 1, 7));
    assert.deepEqual([...new Set(w.sent.map((s) => s.by))], ['a', 'b']);
    assert.ok(w.logs.has(/lost leadership/));
  });

  it('a leader killed between the broker confirm and the state write: its tick is sent again with the same id', async () => {
    const { w, a, b } = await leaderAndStandby();
    await w.clock.advance(15_000);
    a.store.beforeWrite = () => a.store.kill();
    await w.clock.advance(10_000);
    await Promise.all([a.scheduler.stop(), b.scheduler.stop()]);
    const second = w.sent.filter((s) => s.due === T0 + 20_000);
    assert.deepEqual(
      second.map((s) => s.by),
      ['a', 'b'],
    );
    assert.equal(second[0]!.id, second[1]!.id, 'the duplicate carries the same task id');
  });

  it('a restart continues the grid: nothing twice, nothing skipped', async () => {
    const w = new World();
    const config = { tick: { task: 'proj.tick', schedule: every('10s') } };
    const first = w.instance('first', config);
    first.scheduler.start();
    await w.clock.advance(25_000);
    await first.scheduler.stop();
    await w.clock.advance(3_000);
    const second = w.instance('second', config);
    second.scheduler.start();
    await w.clock.advance(30_000);
    await second.scheduler.stop();
    assert.deepEqual(w.dues('tick'), grid(T0, 10_000, 1, 5));
  });

  it('ticks missed while no beat ran: the latest is sent once on start within the grace, else skipped and logged', async () => {
    for (const [graceMs, expected] of [
      [null, grid(T0, 10_000, 3, 7)],
      [5_000, grid(T0, 10_000, 4, 7)],
    ] as const) {
      const w = new World();
      const config = { tick: { task: 'proj.tick', schedule: every('10s') } };
      const first = w.instance('first', config, { graceMs });
      first.scheduler.start();
      await w.clock.advance(1);
      await first.scheduler.stop();
      w.clock.t = T0 + 37_000; // no beat ran for three ticks; the latest (+30 s) is 7 s late
      const second = w.instance('second', config, { graceMs });
      second.scheduler.start();
      await w.clock.advance(35_000);
      await second.scheduler.stop();
      assert.deepEqual(w.dues('tick'), expected, `grace ${graceMs}`);
      assert.equal(w.logs.has(/skipped the run of tick due at/), graceMs !== null);
    }
  });

  it('a send the broker refuses is not recorded and goes out on retry, once', async () => {
    const w = new World();
    const { scheduler } = w.instance('a', { tick: { task: 'proj.tick', schedule: every('10s') } });
    scheduler.start();
    await w.clock.advance(1);
    w.failSends = 1;
    await w.clock.advance(12_000);
    await scheduler.stop();
    assert.deepEqual(w.dues('tick'), [T0 + 10_000]);
    assert.ok(w.logs.has(/could not send a due task; will retry/));
  });

  it('an unreachable store is logged once, not every poll, and the instance leads once it is back', async () => {
    const w = new World();
    const { scheduler, store } = w.instance('a', { tick: { task: 'proj.tick', schedule: every('10s') } });
    store.down = true;
    scheduler.start();
    await w.clock.advance(30_000);
    assert.equal(w.logs.lines.filter((l) => /could not reach the store/.test(l.msg)).length, 1);
    assert.equal(scheduler.role, 'standby');
    store.down = false;
    await w.clock.advance(1_000);
    assert.equal(scheduler.role, 'leading');
    await scheduler.stop();
  });

  it('an instance whose broker connection is down does not stand for leader: the other one, able to send, leads', async () => {
    const w = new World();
    let aConnected = false;
    const a = w.instance('a', { tick: { task: 'proj.tick', schedule: every('10s') } }, { canSend: () => aConnected });
    a.scheduler.start();
    await w.clock.advance(5_000);
    assert.equal(a.scheduler.role, 'standby', 'a cannot send, so it does not lead');
    assert.equal(w.logs.lines.filter((l) => /connection is down/.test(l.msg)).length, 1, 'said once');
    const b = w.instance('b', { tick: { task: 'proj.tick', schedule: every('10s') } });
    b.scheduler.start();
    await w.clock.advance(20_000);
    assert.equal(b.scheduler.role, 'leading');
    aConnected = true;
    await w.clock.advance(20_000);
    assert.equal(a.scheduler.role, 'standby', 'b still leads; a stands by');
    await Promise.all([a.scheduler.stop(), b.scheduler.stop()]);
    assert.ok(w.sent.length >= 3 && w.sent.every((s) => s.by === 'b'), 'only the instance able to send sent');
  });

  it('runtime entries are picked up and removed within a poll; config entries win on start', async () => {
    const w = new World();
    await new MemoryStore(w.broker, 'cli').setEntry('old-config', { entry: { task: 'x', schedule: 5 }, source: 'config', since: T0 });
    await new MemoryStore(w.broker, 'cli').setEntry('tick', { entry: { task: 'proj.runtime', schedule: 5 }, source: 'runtime', since: T0 });
    const { scheduler, store } = w.instance('a', { tick: { task: 'proj.tick', schedule: every('10s') } });
    scheduler.start();
    await w.clock.advance(1);
    assert.deepEqual([...w.broker.entries.keys()], ['tick']);
    assert.equal(w.broker.entries.get('tick')!.entry.task, 'proj.tick', 'the config entry replaced the runtime one');
    await store.setEntry('extra', { entry: { task: 'proj.extra', schedule: once(T0 + 5_000) }, source: 'runtime', since: T0 + 1 });
    await w.clock.advance(12_000);
    assert.deepEqual(w.dues('extra'), [T0 + 5_000]);
    await store.setEntry('fast', { entry: { task: 'proj.fast', schedule: 1 }, source: 'runtime', since: w.clock.now() });
    await w.clock.advance(3_500);
    const fast = w.dues('fast').length;
    assert.ok(fast >= 2, `fast entry ran ${fast} times`);
    await store.removeEntry('fast');
    await w.clock.advance(5_000);
    await scheduler.stop();
    assert.ok(w.dues('fast').length <= fast + 1, 'removed within a poll');
    assert.equal(w.broker.state['fast'], undefined, 'its state is dropped');
  });
});
