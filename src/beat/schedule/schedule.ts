/**
 * A compiled schedule: the set of instants an entry fires at, asked two questions. Times are
 * ms since the epoch; a fire time is also the identity of that run (its "tick").
 */
import type { Zone } from './zone.js';

/** What beat asks of a schedule. */
export interface Schedule {
  readonly kind: 'interval' | 'crontab' | 'once';
  /** Zone next-run times are shown in. */
  readonly zone: Zone;
  /**
   * The first fire time strictly after `last`, the entry's previous fire time (for intervals the
   * grid is anchored there), or undefined when it never fires again.
   */
  nextAfter(last: number): number | undefined;
  /** The latest fire time in (last, now], or undefined when there is none. */
  latestDue(last: number, now: number): number | undefined;
  /** For banners and lists: "every 30s", "crontab '0 4 * * *' Europe/Berlin". */
  describe(): string;
}

/**
 * latestDue for schedules that only know `nextAfter` with absolute fire times (crontab): look
 * back over a window that doubles until it holds a fire time, then walk forward to the last one
 * before `now`. A month-long outage of a minutely crontab costs one step, not 43,200.
 */
export function latestDueBySearch(s: Pick<Schedule, 'nextAfter'>, last: number, now: number): number | undefined {
  const first = s.nextAfter(last);
  if (first === undefined || first > now) return undefined;
  for (let span = 60_000; ; span *= 2) {
    const from = Math.max(last, now - span);
    let fire = from === last ? first : s.nextAfter(from);
    if (fire !== undefined && fire <= now) {
      for (let n = s.nextAfter(fire); n !== undefined && n <= now; n = s.nextAfter(fire)) fire = n;
      return fire;
    }
  }
}
