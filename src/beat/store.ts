/**
 * The beat store port: where beat keeps its runtime entries, the state of every entry (last
 * run), and the leader lock. One adapter per broker kind (file/, redis/, amqp/), each next to
 * the broker so every instance sees the same store.
 *
 * Glossary:
 * - entry: one periodic task (entry.ts). Stored entries are the runtime ones (app.beat.set,
 *   `celeryts beat add`) and the config ones the leader reconciled on start.
 * - state: per entry, the fire time of the last tick handled (plan.ts). Only the leader writes it.
 * - leadership: holding the lock. Exactly one instance holds it; it alone sends and writes state.
 */
import type { BeatEntry, EntrySource } from './entry.js';
import type { BeatState } from './plan.js';

/** An entry as the store keeps it. */
export interface StoredEntry {
  entry: BeatEntry;
  source: EntrySource;
  /** When it was written (ms since the epoch). */
  since: number;
}

/** A state write made ready ahead of time: `commit` is then as short as the store allows. */
export interface PreparedWrite {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** Held by the one leading instance. */
export interface Leadership {
  /**
   * Aborted the moment leadership is lost (lock taken, connection closed, lease expired).
   * Read it afresh before each send: a lease store checks its expiry when it is read.
   */
  readonly signal: AbortSignal;
  /** The state the previous leaders recorded. */
  readState(): Promise<BeatState>;
  /** Record state. Rejects with LeadershipLostError when the store can tell the lock is gone. */
  writeState(state: BeatState): Promise<void>;
  /**
   * Optional: stage a state write while ticks are being sent, so that once the broker confirms
   * them only a cheap commit remains (file store: a rename instead of write + fsync + rename).
   */
  prepareState?(state: BeatState): Promise<PreparedWrite>;
  /** The stored entries as the leader must see them now (runtime changes included). */
  entries(): Promise<Map<string, StoredEntry>>;
  /** Reconcile: write these entries and remove those (config entries on start). */
  applyEntries(set: ReadonlyMap<string, StoredEntry>, remove: readonly string[]): Promise<void>;
  /** Renew the lease or check the lock is still ours (every poll interval); aborts `signal` when lost. */
  refresh(): Promise<void>;
  /** Let go of the lock so a standby takes over at once (clean shutdown). */
  release(): Promise<void>;
}

/** One store. */
export interface BeatStore {
  /** Where it lives, password masked: shown in the banner. */
  readonly description: string;
  /** How the leader is elected here, one line for the banner. */
  readonly election: string;
  /** Stored entries (anyone may read them). */
  entries(): Promise<Map<string, StoredEntry>>;
  /** Add or replace an entry (any process; the leader picks it up within a poll interval). */
  setEntry(name: string, stored: StoredEntry): Promise<void>;
  /** Remove an entry; false when there was none. */
  removeEntry(name: string): Promise<boolean>;
  /** The last recorded state (for listings; a leader reads through its Leadership). */
  readState(): Promise<BeatState>;
  /** Try once to become the leader: a Leadership, or undefined when another instance leads. */
  tryLead(): Promise<Leadership | undefined>;
  close(): Promise<void>;
}

/** Timing every store adapter may use. */
export interface StoreTiming {
  /** Lease of a lock that must be renewed (Redis), ms. */
  leaseMs: number;
  /** How often a standby tries to lead and a leader refreshes, ms. */
  pollMs: number;
}
