/**
 * Schedules as users write them: plain JSON-able values, so the same shape lives in a config
 * file, a `celeryts beat add` command and the store that persists runtime entries. They are
 * checked and compiled into `Schedule`s (compile.ts) when beat loads them, where an error can
 * name the entry and the field.
 *
 *   30                                   every 30 seconds (Celery takes numbers as seconds)
 *   every('30s'), every('1h30m')         { every: '30s' }
 *   crontab('0 4 * * *', { tz })         { crontab: '0 4 * * *', tz: 'Europe/Berlin' }
 *   crontab({ minute: 0, hour: 4 })      { crontab: { minute: 0, hour: 4 } }
 *   once('2025-06-01T04:00:00Z')         { once: '2025-06-01T04:00:00Z' }
 */
import type { CronField } from './cron-fields.js';

/** An interval: seconds, or a duration string ('250ms', '30s', '5m', '1h30m', '1d'). */
export interface IntervalSpec {
  every: number | string;
}

/** Crontab fields as keyword arguments (Celery's names in camelCase; unset fields are '*'). */
export interface CrontabFields {
  minute?: CronField;
  hour?: CronField;
  dayOfWeek?: CronField;
  dayOfMonth?: CronField;
  monthOfYear?: CronField;
}

/** A crontab: the 5-field string ('m h dom mon dow', or @daily and friends) or fields. */
export interface CrontabSpec {
  crontab: string | CrontabFields;
  /** IANA time zone the fields are read in; default: the config's `timezone` (UTC). */
  tz?: string;
}

/** A single run at one time: an ISO 8601 string (without an offset: wall time in `tz`) or ms since the epoch. */
export interface OnceSpec {
  once: string | number;
  tz?: string;
}

/** Any schedule a beat entry may have. A bare number is an interval in seconds. */
export type ScheduleSpec = number | IntervalSpec | CrontabSpec | OnceSpec;

/** Every `duration` ('30s', '5m', '1h30m', '250ms') or number of seconds. */
export function every(duration: number | string): IntervalSpec {
  return { every: duration };
}

/**
 * A crontab schedule, with Celery's fields: `crontab('0 4 * * *', { tz: 'Europe/Berlin' })` or
 * `crontab({ minute: 0, hour: 4, dayOfWeek: 'mon-fri' })`. Both day fields must match when both
 * are set (Celery's rule; Vixie cron would accept either).
 */
export function crontab(expression: string, options?: { tz?: string }): CrontabSpec;
export function crontab(fields: CrontabFields & { tz?: string }): CrontabSpec;
export function crontab(what: string | (CrontabFields & { tz?: string }), options: { tz?: string } = {}): CrontabSpec {
  if (typeof what === 'string') return { crontab: what, ...(options.tz !== undefined ? { tz: options.tz } : {}) };
  const { tz, ...fields } = what;
  return { crontab: fields, ...(tz !== undefined ? { tz } : {}) };
}

/** Run once at `when` (a Date, an ISO string, or ms since the epoch). */
export function once(when: Date | string | number, options: { tz?: string } = {}): OnceSpec {
  return { once: when instanceof Date ? when.toISOString() : when, ...(options.tz !== undefined ? { tz: options.tz } : {}) };
}
