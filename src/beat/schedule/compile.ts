/**
 * Check a schedule as written (spec.ts) and compile it. Every problem is an InvalidScheduleError
 * naming the entry and the field (`schedule.hour`), which the CLI turns into exit 2.
 */
import { InvalidScheduleError } from '../../core/errors.js';
import { CronFieldError, parseCronField, type CronField, type CronFieldName } from './cron-fields.js';
import { CRON_FIELD_NAMES, CrontabSchedule, FIVE_FIELD_ORDER, type CrontabInput } from './crontab.js';
import { IntervalSchedule, parseDuration } from './interval.js';
import { OnceSchedule } from './once.js';
import type { Schedule } from './schedule.js';
import type { CrontabFields, ScheduleSpec } from './spec.js';
import { Zone } from './zone.js';

/** What compiling needs besides the spec. */
export interface CompileContext {
  /** Entry name, for messages. */
  entry: string;
  /** Zone for crontabs and wall-time `once` values without their own `tz`. */
  defaultTz: string;
}

const MACROS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** Celery's snake_case keyword names, accepted as aliases of the camelCase ones. */
const SNAKE: Record<string, CronFieldName> = { day_of_week: 'dayOfWeek', day_of_month: 'dayOfMonth', month_of_year: 'monthOfYear' };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function zoneFor(tz: unknown, ctx: CompileContext, field: string): Zone {
  const name = tz ?? ctx.defaultTz;
  if (typeof name !== 'string' || !Zone.isValid(name)) {
    throw new InvalidScheduleError(
      ctx.entry,
      field,
      `${JSON.stringify(name)} is not a time zone Intl knows (examples: 'UTC', 'Europe/Berlin', 'America/New_York')`,
    );
  }
  return Zone.of(name);
}

function crontabInput(raw: unknown, ctx: CompileContext): CrontabInput {
  const input: CrontabInput = { minute: '*', hour: '*', dayOfWeek: '*', dayOfMonth: '*', monthOfYear: '*' };
  if (typeof raw === 'string') {
    const text = MACROS[raw.trim().toLowerCase()] ?? raw.trim();
    const parts = text.split(/\s+/);
    if (parts.length !== 5) {
      throw new InvalidScheduleError(
        ctx.entry,
        'schedule.crontab',
        `'${raw}' must have 5 fields (minute hour day-of-month month day-of-week) or be @hourly, @daily, @weekly, @monthly, @yearly`,
      );
    }
    FIVE_FIELD_ORDER.forEach((f, i) => {
      input[f] = parts[i]!;
    });
    return input;
  }
  if (!isObject(raw)) throw new InvalidScheduleError(ctx.entry, 'schedule.crontab', 'must be a 5-field string or an object of fields');
  for (const [key, value] of Object.entries(raw as CrontabFields)) {
    const name = SNAKE[key] ?? (CRON_FIELD_NAMES.includes(key as CronFieldName) ? (key as CronFieldName) : undefined);
    if (!name) throw new InvalidScheduleError(ctx.entry, `schedule.crontab.${key}`, `is not a crontab field (${CRON_FIELD_NAMES.join(', ')})`);
    if (value !== undefined) input[name] = value as CronField;
  }
  return input;
}

function compileCrontab(spec: Record<string, unknown>, ctx: CompileContext): CrontabSchedule {
  const input = crontabInput(spec['crontab'], ctx);
  const zone = zoneFor(spec['tz'], ctx, 'schedule.tz');
  for (const f of CRON_FIELD_NAMES) {
    try {
      parseCronField(input[f], f);
    } catch (err) {
      if (err instanceof CronFieldError) throw new InvalidScheduleError(ctx.entry, `schedule.crontab.${f}`, err.message);
      throw err;
    }
  }
  const s = new CrontabSchedule(input, zone);
  if (!s.canFire)
    throw new InvalidScheduleError(
      ctx.entry,
      'schedule.crontab.dayOfMonth',
      `never matches: no month in '${String(input.monthOfYear)}' has day ${String(input.dayOfMonth)}`,
    );
  return s;
}

const WALL_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?$/;

function compileOnce(spec: Record<string, unknown>, ctx: CompileContext): OnceSchedule {
  const zone = zoneFor(spec['tz'], ctx, 'schedule.tz');
  const when = spec['once'];
  let at: number;
  if (typeof when === 'number' && Number.isFinite(when)) at = when;
  else if (typeof when === 'string') {
    const m = WALL_TIME.exec(when.trim());
    if (m) {
      const [, y, mo, d, h = '0', mi = '0', s = '0', ms = '0'] = m;
      at = zone.resolve(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms.padEnd(3, '0'))));
    } else at = Date.parse(when);
  } else at = Number.NaN;
  if (!Number.isFinite(at)) throw new InvalidScheduleError(ctx.entry, 'schedule.once', `${JSON.stringify(when)} is not an ISO 8601 time or ms since the epoch`);
  return new OnceSchedule(at, zone);
}

/** Check and compile one schedule. */
export function compileSchedule(spec: ScheduleSpec | unknown, ctx: CompileContext): Schedule {
  if (typeof spec === 'number' || typeof spec === 'string') {
    try {
      return new IntervalSchedule(parseDuration(spec));
    } catch (err) {
      throw new InvalidScheduleError(ctx.entry, 'schedule', (err as Error).message);
    }
  }
  if (!isObject(spec)) {
    throw new InvalidScheduleError(ctx.entry, 'schedule', "must be seconds, every('30s'), crontab('0 4 * * *') or once('2025-06-01T04:00:00Z')");
  }
  const kinds = ['every', 'crontab', 'once'].filter((k) => k in spec);
  if (kinds.length !== 1) {
    throw new InvalidScheduleError(ctx.entry, 'schedule', `must have exactly one of every, crontab, once (got ${JSON.stringify(Object.keys(spec))})`);
  }
  const allowed = kinds[0] === 'every' ? ['every'] : [kinds[0]!, 'tz'];
  const extra = Object.keys(spec).find((k) => !allowed.includes(k));
  if (extra) throw new InvalidScheduleError(ctx.entry, `schedule.${extra}`, `is not an option of a ${kinds[0]} schedule`);
  if (kinds[0] === 'every') {
    const raw = spec['every'];
    try {
      if (typeof raw !== 'number' && typeof raw !== 'string') throw new Error('must be seconds or a duration string');
      return new IntervalSchedule(parseDuration(raw));
    } catch (err) {
      throw new InvalidScheduleError(ctx.entry, 'schedule.every', (err as Error).message);
    }
  }
  return kinds[0] === 'crontab' ? compileCrontab(spec, ctx) : compileOnce(spec, ctx);
}
