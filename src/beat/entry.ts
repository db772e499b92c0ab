/**
 * Beat entries: a task to send on a schedule, with its arguments and send options. The same
 * JSON-able shape is written in the config (`beatSchedule`), given to `app.beat.set`, and kept
 * in the store for runtime entries; `compileEntry` checks one and names what is wrong.
 */
import { InvalidScheduleError } from '../core/errors.js';
import type { SendOptions } from '../core/send-options.js';
import { compileSchedule } from './schedule/compile.js';
import type { Schedule } from './schedule/schedule.js';
import type { ScheduleSpec } from './schedule/spec.js';

/** Send options a beat entry may carry (apply_async's, as JSON: `expires`/`countdown` in seconds). */
export interface BeatSendOptions {
  queue?: string;
  exchange?: string;
  routingKey?: string;
  priority?: number;
  /** Seconds after sending when the task is discarded if not started. */
  expires?: number;
  /** Seconds after sending before the task may run. */
  countdown?: number;
  timeLimit?: number;
  softTimeLimit?: number;
  ignoreResult?: boolean;
}

/** One periodic task, as written in `beatSchedule` or given to `app.beat.set`. */
export interface BeatEntry {
  /** Task name, e.g. 'proj.tasks.report'. */
  task: string;
  /** When to send it: seconds, every(), crontab() or once(). */
  schedule: ScheduleSpec;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  options?: BeatSendOptions;
}

/** Where an entry came from: the config (reconciled on start) or a runtime change. */
export type EntrySource = 'config' | 'runtime';

/** A checked entry, ready to schedule. */
export interface CompiledEntry {
  readonly name: string;
  readonly task: string;
  readonly schedule: Schedule;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
  readonly options: SendOptions;
  /** The entry as written (JSON), what the store keeps. */
  readonly spec: BeatEntry;
  readonly source: EntrySource;
  /** When a runtime entry was written (ms): its schedule counts from then, even if no beat ran. */
  readonly since?: number;
}

type Check = (v: unknown) => boolean;
const OPTION_CHECKS: Record<keyof BeatSendOptions, [Check, string]> = {
  queue: [(v) => typeof v === 'string' && v !== '', 'must be a non-empty string'],
  exchange: [(v) => typeof v === 'string', 'must be a string'],
  routingKey: [(v) => typeof v === 'string', 'must be a string'],
  priority: [(v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 255, 'must be a whole number 0-255'],
  expires: [(v) => typeof v === 'number' && v > 0, 'must be a number of seconds above 0'],
  countdown: [(v) => typeof v === 'number' && v >= 0, 'must be a number of seconds, 0 or more'],
  timeLimit: [(v) => typeof v === 'number' && v > 0, 'must be a number of seconds above 0'],
  softTimeLimit: [(v) => typeof v === 'number' && v > 0, 'must be a number of seconds above 0'],
  ignoreResult: [(v) => typeof v === 'boolean', 'must be true or false'],
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function jsonable(value: unknown, entry: string, field: string): void {
  try {
    JSON.stringify(value);
  } catch (err) {
    throw new InvalidScheduleError(entry, field, `cannot be sent as JSON: ${(err as Error).message}`);
  }
}

/** Check `raw` as the entry called `name` and compile its schedule. Throws InvalidScheduleError. */
export function compileEntry(name: string, raw: unknown, source: EntrySource, defaultTz: string, since?: number): CompiledEntry {
  if (typeof name !== 'string' || name.trim() === '') throw new InvalidScheduleError(String(name), 'name', 'must be a non-empty string');
  if (!isPlainObject(raw)) throw new InvalidScheduleError(name, 'entry', 'must be an object { task, schedule, args?, kwargs?, options? }');
  const known = ['task', 'schedule', 'args', 'kwargs', 'options'];
  const extra = Object.keys(raw).find((k) => !known.includes(k) && raw[k] !== undefined);
  if (extra) throw new InvalidScheduleError(name, extra, `is not a field of a beat entry (${known.join(', ')})`);
  const { task, schedule, args = [], kwargs = {}, options = {} } = raw;
  if (typeof task !== 'string' || task === '') throw new InvalidScheduleError(name, 'task', 'must be a task name (a non-empty string)');
  if (schedule === undefined) throw new InvalidScheduleError(name, 'schedule', 'is missing');
  if (!Array.isArray(args)) throw new InvalidScheduleError(name, 'args', 'must be a list');
  if (!isPlainObject(kwargs)) throw new InvalidScheduleError(name, 'kwargs', 'must be an object');
  if (!isPlainObject(options)) throw new InvalidScheduleError(name, 'options', 'must be an object');
  jsonable(args, name, 'args');
  jsonable(kwargs, name, 'kwargs');
  for (const [key, value] of Object.entries(options)) {
    const check = OPTION_CHECKS[key as keyof BeatSendOptions];
    if (!check) throw new InvalidScheduleError(name, `options.${key}`, `is not a send option beat supports (${Object.keys(OPTION_CHECKS).join(', ')})`);
    if (value !== undefined && !check[0](value)) throw new InvalidScheduleError(name, `options.${key}`, `${check[1]} (got ${JSON.stringify(value)})`);
  }
  const compiled = compileSchedule(schedule, { entry: name, defaultTz });
  const spec: BeatEntry = JSON.parse(JSON.stringify({ task, schedule, args, kwargs, options })) as BeatEntry;
  return {
    name,
    task,
    schedule: compiled,
    args: spec.args ?? [],
    kwargs: spec.kwargs ?? {},
    options: { ...(spec.options ?? {}) },
    spec,
    source,
    ...(since !== undefined ? { since } : {}),
  };
}

/** Check the config's `beatSchedule`; throws InvalidScheduleError for the first bad entry. */
export function compileConfigEntries(config: { beatSchedule: Record<string, unknown>; timezone: string }): CompiledEntry[] {
  return Object.entries(config.beatSchedule).map(([name, entry]) => compileEntry(name, entry, 'config', config.timezone));
}

/** JSON with object keys sorted, so equal entries compare equal however their keys were ordered. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** True when two entries as written are the same. */
export function sameSpec(a: BeatEntry, b: BeatEntry): boolean {
  return stableJson(a) === stableJson(b);
}
