/**
 * Time zones through Intl (the tz database Node ships with ICU): UTC offsets, wall-clock
 * fields of an instant, and the instants a wall-clock time stands for.
 *
 * Wall-clock times are handled as "wall ms": the number Date.UTC gives for the local date and
 * time, so day arithmetic on them is plain addition with no DST in the way. Converting one back
 * to instants gives none (a daylight-saving gap: 02:30 on the spring-forward day), one, or two
 * (a fold: 01:30 on the fall-back day happens twice).
 */

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Fields of a wall-clock time. `weekday` is 0 for Sunday, as in Celery's crontab. */
export interface WallFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: number;
}

const zones = new Map<string, Zone>();

/** One IANA time zone (or UTC). Get instances with `Zone.of`. */
export class Zone {
  readonly #format: Intl.DateTimeFormat | undefined;

  private constructor(
    /** The zone name ('UTC', 'Europe/Berlin'). */
    readonly name: string,
  ) {
    this.#format =
      name === 'UTC'
        ? undefined
        : new Intl.DateTimeFormat('en-US', {
            timeZone: name,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            second: 'numeric',
          });
  }

  /** The zone called `name` (kept as written: ICU would turn Asia/Kolkata into Asia/Calcutta); throws RangeError for a name Intl does not know. */
  static of(name: string): Zone {
    let z = zones.get(name);
    if (!z) {
      const utc = /^(utc|etc\/utc)$/i.test(name);
      if (!utc) new Intl.DateTimeFormat('en-US', { timeZone: name }); // throws RangeError for unknown names
      z = new Zone(utc ? 'UTC' : name);
      zones.set(name, z);
    }
    return z;
  }

  /** True when `name` is a time zone Intl knows. */
  static isValid(name: string): boolean {
    try {
      Zone.of(name);
      return true;
    } catch {
      return false;
    }
  }

  /** Wall ms (see the module comment) of the instant `ms`, to the second. */
  wallOf(ms: number): number {
    if (!this.#format) return ms - (((ms % 1000) + 1000) % 1000);
    const p: Record<string, number> = {};
    for (const part of this.#format.formatToParts(ms)) if (part.type !== 'literal') p[part.type] = Number(part.value);
    return Date.UTC(p['year']!, p['month']! - 1, p['day']!, p['hour']!, p['minute']!, p['second']!);
  }

  /** UTC offset in ms at the instant `ms` (wall time minus UTC: +3,600,000 for CET). */
  offsetAt(ms: number): number {
    if (!this.#format) return 0;
    return this.wallOf(ms) - (ms - (((ms % 1000) + 1000) % 1000));
  }

  /**
   * The instants, in order, at which the wall clock reads `wall`: [] inside a gap, two in a
   * fold, else one. Assumes at most one offset change within a day of `wall` (true of every
   * zone in the tz database since 1970 but for a few date-line moves, which are still gaps).
   */
  instantsOf(wall: number): number[] {
    const before = this.offsetAt(wall - DAY);
    const after = this.offsetAt(wall + DAY);
    const out: number[] = [];
    for (const o of before === after ? [before] : [before, after]) {
      const instant = wall - o;
      if (this.offsetAt(instant) === o) out.push(instant);
    }
    return out.sort((a, b) => a - b);
  }

  /**
   * For a `wall` time inside a gap: the first instant after the gap (where clocks jumped to),
   * found by bisection between the two candidate instants.
   */
  gapEnd(wall: number): number {
    const before = this.offsetAt(wall - DAY);
    const after = this.offsetAt(wall + DAY);
    let lo = wall - Math.max(before, after); // still on the old offset
    let hi = wall - Math.min(before, after); // already on the new one
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (this.offsetAt(mid) === before) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  /**
   * The instant for a wall time where the caller wants exactly one: the first occurrence in a
   * fold, the end of the gap in a gap (what a clock shows right after skipping it).
   */
  resolve(wall: number): number {
    return this.instantsOf(wall)[0] ?? this.gapEnd(wall);
  }

  /** True when the offset is the same across the whole wall-clock day starting at `dayWall` (no DST change that day). */
  steadyOn(dayWall: number): { offset: number } | undefined {
    const a = this.offsetAt(dayWall - 14 * 60 * MINUTE);
    const b = this.offsetAt(dayWall + DAY + 14 * 60 * MINUTE);
    return a === b ? { offset: a } : undefined;
  }
}

/** The fields of a wall ms value. */
export function wallFields(wall: number): WallFields {
  const d = new Date(wall);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  };
}

/** Wall ms of the midnight starting the wall day that `wall` falls in. */
export function startOfWallDay(wall: number): number {
  return wall - (((wall % DAY) + DAY) % DAY);
}

/** Format an instant as ISO 8601 with the zone's offset: 2025-03-30T03:00:00+02:00. */
export function isoInZone(ms: number, zone: Zone): string {
  const off = zone.offsetAt(ms);
  const wall = new Date(ms + off).toISOString().slice(0, 19);
  if (off === 0) return `${wall}Z`;
  const abs = Math.abs(off) / MINUTE;
  const hh = String(Math.floor(abs / 60)).padStart(2, '0');
  const mm = String(abs % 60).padStart(2, '0');
  return `${wall}${off < 0 ? '-' : '+'}${hh}:${mm}`;
}
