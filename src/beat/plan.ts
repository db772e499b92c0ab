/**
 * What is due: the pure heart of beat. Given the entries, their recorded state and the time,
 * decide which ticks to send, which missed ones to skip, and when to look again.
 * An entry whose schedule changed (another interval, crontab or time) starts afresh.
 *
 * An entry's state is `last`: the fire time of the last tick it handled (sent, or skipped as too
 * late), or the time it was first seen. The next tick is the schedule's first fire time after
 * `last`. Ticks missed while no beat ran coalesce into the latest one, as in Celery: it is sent
 * once if it is no later than the grace (`beatStartingDeadline`), else skipped and logged.
 */
import type { CompiledEntry } from './entry.js';
import type { Schedule } from './schedule/schedule.js';

/** What the store keeps per entry. */
export interface EntryState {
  /** Fire time (ms) of the last tick handled, or when the entry was first seen. */
  last: number;
  /** Ticks sent so far (Celery's total_run_count). */
  total: number;
  /** The schedule `last` refers to (its description): a changed schedule starts afresh. */
  schedule: string;
}

/** Recorded state of every entry, by name. */
export type BeatState = Record<string, EntryState>;

/** A tick to send. */
export interface Tick {
  entry: CompiledEntry;
  /** Its fire time: also its identity (see tick-id.ts). */
  due: number;
  /** True when earlier missed fire times were coalesced into this one. */
  coalesced: boolean;
}

/** A missed tick older than the grace: not sent, recorded as handled. */
export interface Skipped {
  entry: CompiledEntry;
  due: number;
  lateMs: number;
}

/** One round's decisions. */
export interface Plan {
  send: Tick[];
  skip: Skipped[];
  /** State to record once the sends succeed (anchors of new entries, skips, dropped entries, sent ticks). */
  state: BeatState;
  /** True when `state` differs from the input even if nothing is sent (new, skipped or removed entries). */
  changed: boolean;
  /** Earliest fire time after this round, if any entry fires again. */
  wakeAt: number | undefined;
}

/**
 * The next fire time after `last`, remembered per schedule: a round looks at every entry, and
 * a crontab in a time zone costs a few Intl calls to answer, so each answer is worked out once
 * per tick instead of once per round.
 */
const nextMemo = new WeakMap<Schedule, { last: number; next: number | undefined }>();
function nextAfter(schedule: Schedule, last: number): number | undefined {
  const hit = nextMemo.get(schedule);
  if (hit?.last === last) return hit.next;
  const next = schedule.nextAfter(last);
  nextMemo.set(schedule, { last, next });
  return next;
}

/**
 * Decide what to do at `now`. `graceMs` null sends a missed tick however late (Celery 5.3's
 * default); new entries are anchored at `entry.since` (runtime entries) or `now` (config).
 */
export function plan(entries: readonly CompiledEntry[], state: Readonly<BeatState>, now: number, graceMs: number | null): Plan {
  const out: Plan = { send: [], skip: [], state: {}, changed: false, wakeAt: undefined };
  const wake = (t: number | undefined): void => {
    if (t !== undefined && (out.wakeAt === undefined || t < out.wakeAt)) out.wakeAt = t;
  };
  for (const entry of entries) {
    const schedule = entry.schedule.describe();
    let st = state[entry.name];
    if (!st || st.schedule !== schedule) {
      st = { last: Math.min(entry.since ?? now, now), total: st?.total ?? 0, schedule };
      out.changed = true;
    }
    out.state[entry.name] = st;
    const next = nextAfter(entry.schedule, st.last);
    if (next === undefined || next > now) {
      wake(next);
      continue;
    }
    const due = entry.schedule.latestDue(st.last, now) ?? next;
    const lateMs = now - due;
    if (graceMs !== null && lateMs > graceMs) {
      out.skip.push({ entry, due, lateMs });
      out.state[entry.name] = { ...st, last: due };
      out.changed = true;
    } else {
      out.send.push({ entry, due, coalesced: next !== due });
    }
    wake(nextAfter(entry.schedule, due));
  }
  if (Object.keys(state).some((name) => !(name in out.state))) out.changed = true;
  return out;
}

/** The state after the ticks in `sent` went out. */
export function recordSent(base: Readonly<BeatState>, sent: readonly Tick[]): BeatState {
  const next: BeatState = { ...base };
  for (const t of sent) next[t.entry.name] = { last: t.due, total: (base[t.entry.name]?.total ?? 0) + 1, schedule: t.entry.schedule.describe() };
  return next;
}
