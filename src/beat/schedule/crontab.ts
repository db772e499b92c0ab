/**
 * Crontab schedules in a time zone, with daylight-saving changes handled the way Vixie cron
 * does (and the way an operator expects):
 *
 * - fixed-time entries (neither minute nor hour starts with '*', e.g. `30 2 * * *`):
 *   a time the clock skips (02:30 on the spring-forward day) runs once, right after the jump
 *   (03:00); a time the clock shows twice (01:30 on the fall-back day) runs once, the first time;
 * - wildcard entries (`*` or `* /n` in minute or hour, e.g. every 15 minutes): they follow real
 *   time, so times the clock skips do not happen and times it repeats happen twice.
 *
 * Both day fields must match when both are restricted (Celery's rule, not Vixie's "either").
 * Fire times that coincide (02:00 and 02:30 both moved to 03:00) are one run.
 */
import { CRON_FIELDS, isWildcard, parseCronField, type CronField, type CronFieldName } from './cron-fields.js';
import { latestDueBySearch, type Schedule } from './schedule.js';
import { startOfWallDay, wallFields, type Zone } from './zone.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Look this far ahead for a matching day: Feb 29 on a Monday recurs within 28 years. */
const HORIZON_DAYS = 366 * 29;
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The five fields as written, in 5-field order. */
export type CrontabInput = Record<CronFieldName, CronField>;

/** Order of the fields in the 5-field string: minute hour day-of-month month day-of-week. */
export const FIVE_FIELD_ORDER: readonly CronFieldName[] = ['minute', 'hour', 'dayOfMonth', 'monthOfYear', 'dayOfWeek'];

/** A parsed crontab in one zone. Construct through compile.ts, which reports errors per field. */
export class CrontabSchedule implements Schedule {
  readonly kind = 'crontab';
  readonly minutes: number[];
  readonly hours: number[];
  readonly #days: Set<number>;
  readonly #months: Set<number>;
  readonly #weekdays: Set<number>;
  /** Follows real time across DST changes (see the module comment). */
  readonly wildcard: boolean;

  constructor(
    readonly input: CrontabInput,
    readonly zone: Zone,
  ) {
    this.minutes = parseCronField(input.minute, 'minute');
    this.hours = parseCronField(input.hour, 'hour');
    this.#days = new Set(parseCronField(input.dayOfMonth, 'dayOfMonth'));
    this.#months = new Set(parseCronField(input.monthOfYear, 'monthOfYear'));
    this.#weekdays = new Set(parseCronField(input.dayOfWeek, 'dayOfWeek'));
    this.wildcard = isWildcard(input.minute) || isWildcard(input.hour);
  }

  /** False when no month has any of the days of month (`30 2`: February 30th). */
  get canFire(): boolean {
    return [...this.#months].some((m) => [...this.#days].some((d) => d <= DAYS_IN_MONTH[m - 1]!));
  }

  #dayMatches(dayWall: number): boolean {
    const f = wallFields(dayWall);
    return this.#months.has(f.month) && this.#days.has(f.day) && this.#weekdays.has(f.weekday);
  }

  /** The instants a matching wall time stands for, after the DST rules above. */
  #instants(wall: number): number[] {
    const found = this.zone.instantsOf(wall);
    if (found.length === 0) return this.wildcard ? [] : [this.zone.gapEnd(wall)];
    return found.length > 1 && !this.wildcard ? found.slice(0, 1) : found;
  }

  /** The earliest fire time after `t` among the wall times of one day (slow path: DST days). */
  #earliestOnDay(dayWall: number, t: number): number | undefined {
    let best: number | undefined;
    for (const h of this.hours) {
      for (const m of this.minutes) {
        for (const i of this.#instants(dayWall + h * HOUR + m * MINUTE)) if (i > t && (best === undefined || i < best)) best = i;
      }
    }
    return best;
  }

  nextAfter(t: number): number | undefined {
    // From the day before t's: a fall-back fold can replay the previous day's last hour after t.
    const first = startOfWallDay(this.zone.wallOf(t)) - DAY;
    for (let n = 0, day = first; n < HORIZON_DAYS; n++, day += DAY) {
      if (!this.#dayMatches(day)) continue;
      const steady = this.zone.steadyOn(day);
      if (steady) {
        // No offset change today: wall times map to instants in order.
        for (const h of this.hours) {
          const base = day + h * HOUR - steady.offset;
          if (base + 59 * MINUTE <= t) continue;
          for (const m of this.minutes) if (base + m * MINUTE > t) return base + m * MINUTE;
        }
        continue;
      }
      const best = this.#earliestOnDay(day, t);
      if (best === undefined) continue;
      // Times repeated by a fold just after midnight can come after the next day's first ones.
      const next = this.#dayMatches(day + DAY) ? this.#earliestOnDay(day + DAY, t) : undefined;
      return next !== undefined && next < best ? next : best;
    }
    return undefined;
  }

  latestDue(last: number, now: number): number | undefined {
    return latestDueBySearch(this, last, now);
  }

  /** The 5-field string ('0 4 * * mon-fri'). */
  expression(): string {
    return FIVE_FIELD_ORDER.map((f) => {
      const v = this.input[f];
      return Array.isArray(v) ? v.join(',') : String(v);
    }).join(' ');
  }

  #described: string | undefined;
  describe(): string {
    this.#described ??= `crontab '${this.expression()}' ${this.zone.name}`;
    return this.#described;
  }
}

/** Field names in CRON_FIELDS order, for callers that iterate them. */
export const CRON_FIELD_NAMES = Object.keys(CRON_FIELDS) as CronFieldName[];
