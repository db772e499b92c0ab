/**
 * Reading what a store holds, defensively: one unreadable record (a hand edit, a newer version's
 * format, a torn disk) is logged and left out, never allowed to stop the leader.
 */
import type { BeatState, EntryState } from './plan.js';
import type { BeatLogger } from './scheduler.js';
import type { StoredEntry } from './store.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A stored entry from its JSON, or undefined (logged) when it is not one. */
export function parseStoredEntry(name: string, json: string, where: string, log: BeatLogger): StoredEntry | undefined {
  try {
    const v: unknown = JSON.parse(json);
    if (isObject(v) && isObject(v['entry']) && (v['source'] === 'config' || v['source'] === 'runtime') && typeof v['since'] === 'number')
      return v as unknown as StoredEntry;
  } catch {
    // fall through
  }
  log.error({ entry: name, where }, `beat: stored entry ${name} is unreadable; left out`);
  return undefined;
}

/** The state from its JSON ({ state }); unreadable parts are logged and dropped (those entries start afresh). */
export function parseState(json: string, where: string, log: BeatLogger): BeatState {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    v = undefined;
  }
  const state = isObject(v) ? v['state'] : undefined;
  if (!isObject(state)) {
    log.error({ where }, 'beat: the recorded state is unreadable; every entry starts afresh');
    return {};
  }
  const out: BeatState = {};
  for (const [name, st] of Object.entries(state)) {
    if (isObject(st) && typeof st['last'] === 'number' && typeof st['total'] === 'number' && typeof st['schedule'] === 'string')
      out[name] = st as unknown as EntryState;
    else log.error({ entry: name, where }, `beat: the recorded state of ${name} is unreadable; it starts afresh`);
  }
  return out;
}
