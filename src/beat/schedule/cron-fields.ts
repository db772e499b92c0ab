// Celery's crontab field syntax (celery.schedules.crontab_parser), read into sorted value lists:
//
//   *         every value               1,15,30   a list
//   */15      every 15th from the min   8-18      a range (wraps: 22-2 = 22,23,0,1,2)
//   8-18/2    every 2nd in a range      mon-fri   weekday names (day of week), jan-dec (months)
//
// A field may also be a number or a list of numbers. Day of week: 0 = Sunday ... 6 = Saturday
// (7 is taken as Sunday too, as cron does).

/** A crontab field as a user writes it. */
export type CronField = string | number | readonly number[];

/** The five fields, with the value range of each. */
export const CRON_FIELDS = {
  minute: { min: 0, max: 59 },
  hour: { min: 0, max: 23 },
  dayOfWeek: { min: 0, max: 6 },
  dayOfMonth: { min: 1, max: 31 },
  monthOfYear: { min: 1, max: 12 },
} as const;

/** One of the five field names (camelCase; Celery's snake_case names are accepted as aliases). */
export type CronFieldName = keyof typeof CRON_FIELDS;

const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** Index of `token` in `names` as a 3-letter abbreviation or the full name, or -1. */
function nameIndex(token: string, names: readonly string[]): number {
  const t = token.toLowerCase();
  return t.length < 3 ? -1 : names.findIndex((n) => n.startsWith(t) && (t.length === 3 || t === n));
}

/** A field that cannot be read; the message says why (the caller adds the entry and field name). */
export class CronFieldError extends Error {}

function value(token: string, field: CronFieldName): number {
  const { min, max } = CRON_FIELDS[field];
  let n: number;
  if (/^\d+$/.test(token)) n = Number(token);
  else {
    const names = field === 'dayOfWeek' ? WEEKDAYS : field === 'monthOfYear' ? MONTHS : undefined;
    const i = names ? nameIndex(token, names) : -1;
    if (i < 0) throw new CronFieldError(`'${token}' is not a number${names ? ` or a ${field === 'dayOfWeek' ? 'weekday' : 'month'} name` : ''}`);
    n = field === 'monthOfYear' ? i + 1 : i;
  }
  if (field === 'dayOfWeek' && n === 7) n = 0;
  if (n < min || n > max) throw new CronFieldError(`${n} is out of range ${min}-${max}`);
  return n;
}

function range(from: number, to: number, step: number, field: CronFieldName): number[] {
  const { min, max } = CRON_FIELDS[field];
  const out: number[] = [];
  // A range that wraps (fri-mon, 22-2) runs to the maximum and on from the minimum, as in Celery.
  const span = to >= from ? to - from : max - from + 1 + (to - min);
  for (let k = 0; k <= span; k += step) out.push(((from - min + k) % (max - min + 1)) + min);
  return out;
}

function part(text: string, field: CronFieldName): number[] {
  const { min, max } = CRON_FIELDS[field];
  const [base = '', stepText, extra] = text.split('/');
  if (extra !== undefined) throw new CronFieldError(`'${text}' has more than one '/'`);
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw new CronFieldError(`step '${stepText}' in '${text}' must be a whole number above 0`);
    step = Number(stepText);
  }
  if (base === '*') return range(min, max, step, field);
  const dash = base.indexOf('-', 1);
  if (dash > 0) return range(value(base.slice(0, dash), field), value(base.slice(dash + 1), field), step, field);
  if (stepText !== undefined) throw new CronFieldError(`'${text}': a step needs '*' or a range before it (*/${stepText}, a-b/${stepText})`);
  if (base === '') throw new CronFieldError('empty value');
  return [value(base, field)];
}

/** Parse one field into its sorted, distinct values. Throws CronFieldError. */
export function parseCronField(input: CronField, field: CronFieldName): number[] {
  let values: number[];
  if (typeof input === 'number') values = [value(String(input), field)];
  else if (Array.isArray(input)) {
    if (input.length === 0) throw new CronFieldError('an empty list never matches');
    values = input.map((n) => {
      if (!Number.isInteger(n)) throw new CronFieldError(`${JSON.stringify(n)} is not a whole number`);
      return value(String(n), field);
    });
  } else if (typeof input === 'string') {
    const text = input.replace(/\s+/g, '');
    if (text === '') throw new CronFieldError('empty field');
    values = text.split(',').flatMap((p) => part(p, field));
  } else throw new CronFieldError(`must be a string, a number or a list of numbers (got ${JSON.stringify(input)})`);
  return [...new Set(values)].sort((a, b) => a - b);
}

/**
 * True when the field as written means "every value, or every n-th" (it starts with '*'):
 * such schedules follow real time across daylight-saving changes (see crontab.ts).
 */
export function isWildcard(input: CronField): boolean {
  return typeof input === 'string' && input.trim().startsWith('*');
}
