/** One-shot schedules: a single fire time. */
import type { Schedule } from './schedule.js';
import { isoInZone, type Zone } from './zone.js';

/** Fires once, at `at`. */
export class OnceSchedule implements Schedule {
  readonly kind = 'once';
  constructor(
    readonly at: number,
    readonly zone: Zone,
  ) {}

  nextAfter(last: number): number | undefined {
    return this.at > last ? this.at : undefined;
  }

  latestDue(last: number, now: number): number | undefined {
    return this.at > last && this.at <= now ? this.at : undefined;
  }

  describe(): string {
    return `once at ${isoInZone(this.at, this.zone)}`;
  }
}
