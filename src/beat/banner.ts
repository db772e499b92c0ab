/** Celery-style beat startup banner (printed when stdout is a terminal; logged otherwise). */
import type { BeatListing } from './listing.js';

/** What the banner shows. */
export interface BeatBannerInfo {
  version: string;
  broker: string;
  configFile: string | undefined;
  store: string;
  election: string;
  timezone: string;
  /** beatStartingDeadline in seconds, null for no limit. */
  deadline: number | null;
  entries: readonly BeatListing[];
}

/** The banner text. */
export function beatBannerText(info: BeatBannerInfo): string {
  const config = info.entries.filter((e) => e.source === 'config').length;
  const runtime = info.entries.length - config;
  const width = Math.max(4, ...info.entries.map((e) => e.name.length));
  const taskWidth = Math.max(4, ...info.entries.map((e) => e.task.length));
  const lines = [
    `celeryts beat v${info.version} is starting.`,
    `LocalTime -> ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC`,
    'Configuration ->',
    `    . broker -> ${info.broker}`,
    `    . schedule -> ${info.configFile ?? '(no config file)'}: ${config} entr${config === 1 ? 'y' : 'ies'}; ${runtime} runtime entr${runtime === 1 ? 'y' : 'ies'}`,
    `    . store -> ${info.store}`,
    `    . election -> ${info.election}`,
    `    . timezone -> ${info.timezone}`,
    `    . missed runs -> ${info.deadline === null ? 'sent once on start, however late' : `sent once on start if at most ${info.deadline}s late, else skipped`}`,
    'Entries ->',
    ...(info.entries.length === 0
      ? ['    (none: add beatSchedule to the config, or run celeryts beat add)']
      : info.entries.map(
          (e) =>
            `    . ${e.name.padEnd(width)}  ${e.task.padEnd(taskWidth)}  ${e.schedule}  ${e.error ? `INVALID: ${e.error}` : e.nextRun ? `next ${e.nextRun}` : 'done'}`,
        )),
    '',
  ];
  return lines.join('\n');
}
