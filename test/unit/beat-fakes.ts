/**
 * Fakes for beat's unit tests: a clock tests move by hand, and an in-memory store that several
 * schedulers share (one "broker"), where a test can kill the leader the way a SIGKILL would:
 * its lock goes, and anything it tries to write after that is refused.
 */
import { LeadershipLostError } from '../../src/core/errors.js';
import type { Clock } from '../../src/beat/clock.js';
import type { BeatState } from '../../src/beat/plan.js';
import type { BeatStore, Leadership, StoredEntry } from '../../src/beat/store.js';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
};

/** A clock that moves only when told; sleepers wake in time order. */
export class FakeClock implements Clock {
  #sleepers: { at: number; wake: () => void }[] = [];
  constructor(public t: number) {}

  now(): number {
    return this.t;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const s = { at: this.t + Math.max(0, ms), wake: resolve };
      this.#sleepers.push(s);
      signal?.addEventListener(
        'abort',
        () => {
          this.#sleepers = this.#sleepers.filter((x) => x !== s);
          resolve();
        },
        { once: true },
      );
    });
  }

  /** Move time forward by `ms`, waking each sleeper at its own time and letting it run. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await flush();
    for (;;) {
      const next = this.#sleepers.reduce<number | undefined>((m, s) => (m === undefined || s.at < m ? s.at : m), undefined);
      if (next === undefined || next > end) break;
      this.t = Math.max(this.t, next);
      const due = this.#sleepers.filter((s) => s.at <= this.t);
      this.#sleepers = this.#sleepers.filter((s) => s.at > this.t);
      for (const s of due) s.wake();
      await flush();
    }
    this.t = end;
    await flush();
  }
}

/** What every instance of the in-memory store shares. */
export class MemoryBroker {
  holder: MemoryStore | undefined;
  state: BeatState = {};
  entries = new Map<string, StoredEntry>();
  stateWrites = 0;
}

/** One instance's view of the shared in-memory store. */
export class MemoryStore implements BeatStore {
  readonly description = 'memory';
  readonly election = 'in-memory lock';
  #lead: AbortController | undefined;
  /** Called inside writeState before it lands (to kill the leader there). */
  beforeWrite: (() => void) | undefined;
  /** While true, electing fails as with an unreachable broker. */
  down = false;

  constructor(
    readonly broker: MemoryBroker,
    readonly name: string,
  ) {}

  async entries(): Promise<Map<string, StoredEntry>> {
    return new Map(this.broker.entries);
  }
  async setEntry(name: string, stored: StoredEntry): Promise<void> {
    this.broker.entries.set(name, stored);
  }
  async removeEntry(name: string): Promise<boolean> {
    return this.broker.entries.delete(name);
  }
  async readState(): Promise<BeatState> {
    return structuredClone(this.broker.state);
  }

  /** Like SIGKILL of this instance's process: the lock goes with its connection. */
  kill(): void {
    if (this.broker.holder === this) this.broker.holder = undefined;
    this.#lead?.abort();
  }

  async tryLead(): Promise<Leadership | undefined> {
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5672');
    if (this.broker.holder && this.broker.holder !== this) return undefined;
    this.broker.holder = this;
    const ctl = new AbortController();
    this.#lead = ctl;
    const held = (): void => {
      if (this.broker.holder !== this || ctl.signal.aborted) throw new LeadershipLostError(`${this.name} does not hold the lock`);
    };
    return {
      signal: ctl.signal,
      readState: async () => structuredClone(this.broker.state),
      writeState: async (state) => {
        this.beforeWrite?.();
        held();
        this.broker.state = structuredClone(state);
        this.broker.stateWrites++;
      },
      entries: async () => new Map(this.broker.entries),
      applyEntries: async (set, remove) => {
        for (const [k, v] of set) this.broker.entries.set(k, v);
        for (const k of remove) this.broker.entries.delete(k);
      },
      refresh: async () => {
        if (this.broker.holder !== this) ctl.abort();
      },
      release: async () => {
        if (this.broker.holder === this) this.broker.holder = undefined;
        ctl.abort();
      },
    };
  }

  async close(): Promise<void> {}
}
