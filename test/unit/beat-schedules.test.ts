/**
 * Beat's schedule math with no clock at all: durations, Celery's crontab fields, crontabs in
 * time zones across daylight-saving changes, one-shot times, and the errors that name an entry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileEntry } from '../../src/beat/entry.js';
import { parseCronField } from '../../src/beat/schedule/cron-fields.js';
import { compileSchedule } from '../../src/beat/schedule/compile.js';
import { parseDuration } from '../../src/beat/schedule/interval.js';
import type { Schedule } from '../../src/beat/schedule/schedule.js';
import { crontab, every, once, type ScheduleSpec } from '../../src/beat/schedule/spec.js';
import { tickId, tickTime } from '../../src/beat/tick-id.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
const compile = (spec: ScheduleSpec, defaultTz = 'UTC'): Schedule => compileSchedule(spec, { entry: 'e', defaultTz });

/** Fire times in [from, to), as ISO strings in UTC. */
function fires(s: Schedule, from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = s.nextAfter(at(from) - 1); t !== undefined && t < at(to); t = s.nextAfter(t)) out.push(iso(t)!);
  return out;
}

describe('durations and intervals', () => {
  it('reads seconds, unit strings and compound durations', () => {
    assert.equal(parseDuration(30), 30_000);
    assert.equal(parseDuration(0.25), 250);
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('1.5m'), 90_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('2d'), 172_800_000);
    assert.equal(parseDuration('45'), 45_000);
  });

  it('refuses what is not a positive duration', () => {
    for (const bad of ['', '0s', '3x', '1h 30', 'soon', -1, 0, Number.NaN]) assert.throws(() => parseDuration(bad), Error, String(bad));
  });

  it('every() and bare numbers tick on a grid anchored at the last run, missed ticks coalesce', () => {
    const s = compile(every('10s'));
    const t0 = at('2025-01-01T00:00:00Z');
    assert.equal(s.nextAfter(t0), t0 + 10_000);
    assert.equal(s.latestDue(t0, t0 + 9_999), undefined);
    assert.equal(s.latestDue(t0, t0 + 35_000), t0 + 30_000, 'three missed ticks, the latest is sent');
    assert.equal(compile(30).describe(), 'every 30s');
    assert.equal(compile(every('1h30m')).describe(), 'every 1h30m');
  });
});

describe("Celery's crontab fields", () => {
  it('reads *, */n, ranges, stepped ranges, lists and names', () => {
    assert.deepEqual(parseCronField('*/15', 'minute'), [0, 15, 30, 45]);
    assert.deepEqual(parseCronField('8-18/4', 'hour'), [8, 12, 16]);
    assert.deepEqual(parseCronField('1,15, 30', 'minute'), [1, 15, 30]);
    assert.deepEqual(parseCronField('mon-fri', 'dayOfWeek'), [1, 2, 3, 4, 5]);
    assert.deepEqual(parseCronField('sunday,sat', 'dayOfWeek'), [0, 6]);
    assert.deepEqual(parseCronField(7, 'dayOfWeek'), [0], '7 is Sunday, as in cron');
    assert.deepEqual(parseCronField('jan,jul-aug', 'monthOfYear'), [1, 7, 8]);
    assert.deepEqual(parseCronField([5, 1, 5], 'hour'), [1, 5]);
  });

  it('wraps ranges that go past the maximum, as Celery does', () => {
    assert.deepEqual(parseCronField('fri-mon', 'dayOfWeek'), [0, 1, 5, 6]);
    assert.deepEqual(parseCronField('22-2', 'hour'), [0, 1, 2, 22, 23]);
  });

  it('says what is wrong with a field', () => {
    assert.throws(() => parseCronField('60', 'minute'), /60 is out of range 0-59/);
    assert.throws(() => parseCronField('*/0', 'minute'), /step '0'/);
    assert.throws(() => parseCronField('5/15', 'minute'), /a step needs '\*' or a range/);
    assert.throws(() => parseCronField('noon', 'hour'), /'noon' is not a number/);
    assert.throws(() => parseCronField('fri', 'hour'), /'fri' is not a number$/);
    assert.throws(() => parseCronField([], 'hour'), /empty list/);
  });
});

describe('crontab in UTC', () => {
  it('0 4 * * * fires at 04:00 every day, strictly after the given time', () => {
    const s = compile(crontab('0 4 * * *'));
    assert.equal(iso(s.nextAfter(at('2025-01-01T03:00:00Z'))), '2025-01-01T04:00:00.000Z');
    assert.equal(iso(s.nextAfter(at('2025-01-01T04:00:00Z'))), '2025-01-02T04:00:00.000Z');
  });

  it('keyword fields, with both day fields required to match (Friday the 13th)', () => {
    const s = compile(crontab({ minute: 0, hour: 0, dayOfMonth: 13, dayOfWeek: 'fri' }));
    assert.deepEqual(fires(s, '2025-01-01T00:00:00Z', '2026-12-31T00:00:00Z'), [
      '2025-06-13T00:00:00.000Z',
      '2026-02-13T00:00:00.000Z',
      '2026-03-13T00:00:00.000Z',
      '2026-11-13T00:00:00.000Z',
    ]);
  });

  it('accepts Celery snake_case keyword names and @macros', () => {
    const s = compile({ crontab: { minute: 30, hour: 9, day_of_week: 'mon' } as never });
    assert.equal(iso(s.nextAfter(at('2025-01-01T00:00:00Z'))), '2025-01-06T09:30:00.000Z');
    assert.equal(iso(compile(crontab('@weekly')).nextAfter(at('2025-01-01T00:00:00Z'))), '2025-01-05T00:00:00.000Z');
  });

  it('February 29th waits for the next leap year', () => {
    assert.equal(iso(compile(crontab('0 0 29 2 *')).nextAfter(at('2025-03-01T00:00:00Z'))), '2028-02-29T00:00:00.000Z');
  });

  it('latestDue of a minutely crontab after a month without beat is the last minute, found quickly', () => {
    const s = compile(crontab('* * * * *'));
    const started = performance.now();
    assert.equal(iso(s.latestDue(at('2025-01-01T00:00:00Z'), at('2025-02-01T12:34:56Z'))), '2025-02-01T12:34:00.000Z');
    assert.ok(performance.now() - started < 200, 'no walk over 44,000 minutes');
    assert.equal(s.latestDue(at('2025-01-01T00:00:00Z'), at('2025-01-01T00:00:30Z')), undefined);
  });
});

describe('crontab in time zones, across daylight-saving changes', () => {
  it('Europe/Berlin 04:00 is 03:00Z in winter and 02:00Z in summer', () => {
    const s = compile(crontab('0 4 * * *', { tz: 'Europe/Berlin' }));
    assert.equal(iso(s.nextAfter(at('2025-01-15T00:00:00Z'))), '2025-01-15T03:00:00.000Z');
    assert.equal(iso(s.nextAfter(at('2025-07-15T00:00:00Z'))), '2025-07-15T02:00:00.000Z');
  });

  it('the config timezone is the default zone', () => {
    const s = compile(crontab('0 9 * * *'), 'Asia/Kolkata');
    assert.equal(iso(s.nextAfter(at('2025-01-15T00:00:00Z'))), '2025-01-15T03:30:00.000Z');
    assert.equal(s.describe(), "crontab '0 9 * * *' Asia/Kolkata");
  });

  it('a 02:30 job on the day without 02:30 runs once, right after the jump (Berlin, spring)', () => {
    // 2025-03-30: 02:00 CET -> 03:00 CEST at 01:00Z.
    const s = compile(crontab('30 2 * * *', { tz: 'Europe/Berlin' }));
    assert.deepEqual(fires(s, '2025-03-29T00:00:00Z', '2025-04-01T00:00:00Z'), [
      '2025-03-29T01:30:00.000Z',
      '2025-03-30T01:00:00.000Z',
      '2025-03-31T00:30:00.000Z',
    ]);
  });

  it('a 02:30 job on the day with two 02:30s runs once, the first time (Berlin, autumn)', () => {
    // 2025-10-26: 03:00 CEST -> 02:00 CET at 01:00Z; 02:30 is 00:30Z and again 01:30Z.
    const s = compile(crontab('30 2 * * *', { tz: 'Europe/Berlin' }));
    assert.deepEqual(fires(s, '2025-10-25T00:00:00Z', '2025-10-28T00:00:00Z'), [
      '2025-10-25T00:30:00.000Z',
      '2025-10-26T00:30:00.000Z',
      '2025-10-27T01:30:00.000Z',
    ]);
  });

  it('New York: 02:30 skipped runs at 03:00 EDT; 01:30 shown twice runs once', () => {
    const spring = compile(crontab('30 2 * * *', { tz: 'America/New_York' }));
    assert.deepEqual(fires(spring, '2025-03-08T12:00:00Z', '2025-03-10T12:00:00Z'), ['2025-03-09T07:00:00.000Z', '2025-03-10T06:30:00.000Z']);
    const fall = compile(crontab('30 1 * * *', { tz: 'America/New_York' }));
    assert.deepEqual(fires(fall, '2025-11-01T12:00:00Z', '2025-11-03T12:00:00Z'), ['2025-11-02T05:30:00.000Z', '2025-11-03T06:30:00.000Z']);
  });

  it('times moved into the same instant by a gap run once (02:00 and 02:30 both at 03:00)', () => {
    const s = compile(crontab('0,30 2 * * *', { tz: 'America/New_York' }));
    assert.deepEqual(fires(s, '2025-03-09T00:00:00Z', '2025-03-10T00:00:00Z'), ['2025-03-09T07:00:00.000Z']);
  });

  it('wildcard jobs follow real time: every 30 minutes through both changes', () => {
    const s = compile(crontab('*/30 * * * *', { tz: 'Europe/Berlin' }));
    // Spring: 01:00 CET, 01:30 CET, then 03:00 CEST: the 02:xx times do not happen.
    assert.deepEqual(fires(s, '2025-03-30T00:00:00Z', '2025-03-30T02:00:00Z'), [
      '2025-03-30T00:00:00.000Z',
      '2025-03-30T00:30:00.000Z',
      '2025-03-30T01:00:00.000Z',
      '2025-03-30T01:30:00.000Z',
    ]);
    // Autumn: 02:00 and 02:30 happen twice, an hour apart: still every 30 real minutes.
    assert.deepEqual(fires(s, '2025-10-26T00:00:00Z', '2025-10-26T02:00:00Z'), [
      '2025-10-26T00:00:00.000Z',
      '2025-10-26T00:30:00.000Z',
      '2025-10-26T01:00:00.000Z',
      '2025-10-26T01:30:00.000Z',
    ]);
  });

  it('a fold at midnight (Santiago): fixed 23:30 once, hourly :30 twice, in time order across the date change', () => {
    // 2025-04-05 24:00 -03 -> 23:00 -04: 23:xx on April 5th happens at 02:xxZ and again at 03:xxZ.
    const fixed = compile(crontab('30 23 * * *', { tz: 'America/Santiago' }));
    assert.deepEqual(fires(fixed, '2025-04-06T00:00:00Z', '2025-04-07T00:00:00Z'), ['2025-04-06T02:30:00.000Z']);
    const hourly = compile(crontab('30 * * * *', { tz: 'America/Santiago' }));
    assert.deepEqual(fires(hourly, '2025-04-06T01:00:00Z', '2025-04-06T05:00:00Z'), [
      '2025-04-06T01:30:00.000Z',
      '2025-04-06T02:30:00.000Z',
      '2025-04-06T03:30:00.000Z',
      '2025-04-06T04:30:00.000Z',
    ]);
  });

  it('half-hour DST shifts (Lord Howe): a time in the 30-minute gap runs at its end', () => {
    // 2025-10-05 02:00 -> 02:30 local (+10:30 -> +11) at 15:30Z on the 4th.
    const s = compile(crontab('15 2 * * *', { tz: 'Australia/Lord_Howe' }));
    assert.equal(iso(s.nextAfter(at('2025-10-04T12:00:00Z'))), '2025-10-04T15:30:00.000Z');
  });
});

describe('one-shot times', () => {
  it('fires once at an ISO time; never again after', () => {
    const s = compile(once('2025-06-01T04:00:00Z'));
    assert.equal(iso(s.nextAfter(at('2025-01-01T00:00:00Z'))), '2025-06-01T04:00:00.000Z');
    assert.equal(s.nextAfter(at('2025-06-01T04:00:00Z')), undefined);
    assert.equal(s.latestDue(at('2025-01-01T00:00:00Z'), at('2025-07-01T00:00:00Z')), at('2025-06-01T04:00:00Z'));
  });

  it('a time without an offset is wall time in its zone (a skipped time moves to the end of the gap)', () => {
    assert.equal(iso(compile(once('2025-06-01 04:00', { tz: 'Europe/Berlin' })).nextAfter(0)), '2025-06-01T02:00:00.000Z');
    assert.equal(iso(compile(once('2025-03-30T02:30', { tz: 'Europe/Berlin' })).nextAfter(0)), '2025-03-30T01:00:00.000Z');
    assert.equal(iso(compile(once(new Date('2030-01-01T00:00:00Z'))).nextAfter(0)), '2030-01-01T00:00:00.000Z');
  });
});

describe('invalid entries name the entry and the field', () => {
  const bad = (raw: unknown) => () => compileEntry('nightly', raw, 'config', 'UTC');
  it('schedule fields', () => {
    assert.throws(bad({ task: 't', schedule: crontab('0 25 * * *') }), /beat entry 'nightly': schedule\.crontab\.hour 25 is out of range 0-23/);
    assert.throws(bad({ task: 't', schedule: crontab('0 4 * *') }), /beat entry 'nightly': schedule\.crontab '0 4 \* \*' must have 5 fields/);
    assert.throws(bad({ task: 't', schedule: crontab('0 4 * * *', { tz: 'Mars/Olympus' }) }), /schedule\.tz "Mars\/Olympus" is not a time zone/);
    assert.throws(bad({ task: 't', schedule: crontab({ minute: 0, hours: 4 } as never) }), /schedule\.crontab\.hours is not a crontab field/);
    assert.throws(bad({ task: 't', schedule: crontab('0 0 30 2 *') }), /schedule\.crontab\.dayOfMonth never matches/);
    assert.throws(bad({ task: 't', schedule: every('soon') }), /schedule\.every 'soon' is not a duration/);
    assert.throws(bad({ task: 't', schedule: once('someday') }), /schedule\.once "someday" is not an ISO 8601 time/);
    assert.throws(bad({ task: 't', schedule: { every: 1, crontab: '* * * * *' } }), /schedule must have exactly one of every, crontab, once/);
    assert.throws(bad({ task: 't' }), /schedule is missing/);
  });

  it('task, arguments and options', () => {
    assert.throws(bad({ schedule: 5 }), /beat entry 'nightly': task must be a task name/);
    assert.throws(bad({ task: 't', schedule: 5, args: 'x' }), /args must be a list/);
    assert.throws(bad({ task: 't', schedule: 5, kwargs: [] }), /kwargs must be an object/);
    assert.throws(bad({ task: 't', schedule: 5, options: { queue: '' } }), /options\.queue must be a non-empty string/);
    assert.throws(bad({ task: 't', schedule: 5, options: { eta: 'now' } }), /options\.eta is not a send option/);
    assert.throws(bad({ task: 't', schedule: 5, sched: 5 }), /sched is not a field of a beat entry/);
    assert.throws(bad({ task: 't', schedule: 5, args: [10n] }), /args cannot be sent as JSON/);
  });

  it('a valid entry compiles with its options', () => {
    const e = compileEntry(
      'nightly',
      { task: 'proj.tasks.report', schedule: crontab('0 4 * * *'), args: [1], options: { queue: 'reports', expires: 60 } },
      'config',
      'UTC',
    );
    assert.equal(e.task, 'proj.tasks.report');
    assert.deepEqual(e.options, { queue: 'reports', expires: 60 });
    assert.deepEqual(e.args, [1]);
  });
});

describe('tick ids', () => {
  it('are version-7-shaped UUIDs carrying the fire time, the same on every instance', () => {
    const due = at('2025-06-01T04:00:00Z');
    const id = tickId('nightly', due);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(tickId('nightly', due), id);
    assert.notEqual(tickId('nightly', due + 1), id);
    assert.notEqual(tickId('other', due), id);
    assert.equal(tickTime(id), due);
    assert.equal(tickTime('4b1c1c34-2d8b-4a7e-9d0e-0a6c2f1b5e11'), undefined);
  });
});
