/**
 * Interval schedules: every N seconds on a grid anchored at the entry's first reference time
 * (when beat first saw it), so a run's time is the anchor plus a whole number of periods and
 * every instance computes the same ticks. Missed ticks coalesce into the latest one.
 */
import type { Schedule } from './schedule.js';
import { Zone } from './zone.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds in a duration: a number of seconds, or a string of number+unit parts
 * ('250ms', '30s', '1.5m', '1h30m', '1d'; a bare number string is seconds). Throws a message.
 */
export function parseDuration(d: number | string): number {
  if (typeof d === 'number') {
    if (!Number.isFinite(d) || d <= 0) throw new Error(`must be a number of seconds above 0 (got ${d})`);
    return d * 1000;
  }
  const text = d.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return parseDuration(Number(text));
  let ms = 0;
  let rest = text;
  const part = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*/;
  for (let m = part.exec(rest); m; m = part.exec(rest)) {
    ms += Number(m[1]) * UNITS[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (rest !== '' || text === '') throw new Error(`'${d}' is not a duration (examples: '30s', '5m', '1h30m', '250ms', or a number of seconds)`);
  if (ms <= 0) throw new Error(`'${d}' must be longer than 0`);
  return ms;
}

/** Render ms as the shortest duration string ('30s', '1h30m', '250ms'). */
export function formatDuration(ms: number): string {
  const out: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      out.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) out.push(`${Math.round(rest)}ms`);
  return out.join('') || '0s';
}

/** Every `periodMs`. */
export class IntervalSchedule implements Schedule {
  readonly kind = 'interval';
  readonly zone = Zone.of('UTC');
  constructor(readonly periodMs: number) {}

  nextAfter(last: number): number {
    return last + this.periodMs;
  }

  latestDue(last: number, now: number): number | undefined {
    if (now < last + this.periodMs) return undefined;
    return last + Math.floor((now - last) / this.periodMs) * this.periodMs;
  }

  #described: string | undefined;
  describe(): string {
    this.#described ??= `every ${formatDuration(this.periodMs)}`;
    return this.#described;
  }
}
