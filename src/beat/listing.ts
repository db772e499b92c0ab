/**
 * The effective schedule as a leader would run it, for `beat list`, `app.beat.list()` and the
 * banner: stored entries with the config's on top (the config wins on start), each with its
 * last and next run.
 */
import { compileEntry, type CompiledEntry } from './entry.js';
import type { BeatState } from './plan.js';
import { isoInZone } from './schedule/zone.js';
import type { StoredEntry } from './store.js';

/** One row of the schedule. */
export interface BeatListing {
  name: string;
  task: string;
  /** "every 30s", "crontab '0 4 * * *' Europe/Berlin", "once at ...". */
  schedule: string;
  source: 'config' | 'runtime';
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  /** Fire time of the last tick sent, ISO in the schedule's zone, if any was. */
  lastRun: string | undefined;
  /** Next fire time, ISO in the schedule's zone; undefined when it will not fire again. */
  nextRun: string | undefined;
  /** Ticks sent so far. */
  totalRuns: number;
  /** Set when a stored entry cannot be compiled (it is not scheduled). */
  error?: string;
}

/** A stored entry that does not compile: listed with its error, never scheduled. */
export interface BrokenEntry {
  name: string;
  error: string;
  stored: StoredEntry;
}

/** Config entries over stored ones: what a leader starting now would schedule. */
export function effectiveEntries(
  config: readonly CompiledEntry[],
  stored: ReadonlyMap<string, StoredEntry>,
  defaultTz: string,
): (CompiledEntry | BrokenEntry)[] {
  const out = new Map<string, CompiledEntry | BrokenEntry>();
  for (const [name, s] of stored) {
    try {
      out.set(name, compileEntry(name, s.entry, s.source, defaultTz, s.since));
    } catch (err) {
      out.set(name, { name, error: (err as Error).message, stored: s });
    }
  }
  for (const [name, s] of stored) if (s.source === 'config' && !config.some((c) => c.name === name)) out.delete(name);
  for (const c of config) out.set(c.name, c);
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Rows for the entries, given the recorded state and the time. */
export function listEntries(entries: readonly (CompiledEntry | BrokenEntry)[], state: Readonly<BeatState>, now: number): BeatListing[] {
  return entries.map((e) => {
    if ('error' in e) {
      const { entry, source } = e.stored;
      return {
        name: e.name,
        task: entry.task,
        schedule: JSON.stringify(entry.schedule),
        source,
        args: entry.args ?? [],
        kwargs: entry.kwargs ?? {},
        options: { ...(entry.options ?? {}) },
        lastRun: undefined,
        nextRun: undefined,
        totalRuns: 0,
        error: e.error,
      };
    }
    const describe = e.schedule.describe();
    const st = state[e.name]?.schedule === describe ? state[e.name] : undefined;
    const from = st?.last ?? Math.min(e.since ?? now, now);
    const due = e.schedule.latestDue(from, now);
    const next = due ?? e.schedule.nextAfter(from);
    return {
      name: e.name,
      task: e.task,
      schedule: describe,
      source: e.source,
      args: e.args,
      kwargs: e.kwargs,
      options: { ...e.options },
      lastRun: st && st.total > 0 ? isoInZone(st.last, e.schedule.zone) : undefined,
      nextRun: next === undefined ? undefined : isoInZone(next, e.schedule.zone),
      totalRuns: st?.total ?? 0,
    };
  });
}
