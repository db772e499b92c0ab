/**
 * `app.beat`: change the schedule at runtime from any process. Entries set here are checked,
 * then written to beat's store (next to the broker), where the leader picks them up within a
 * poll interval and every later leader finds them. A config entry of the same name is
 * replaced until the next leader starts, which puts the config's back (config wins on start).
 */
import type { Config } from '../config/schema.js';
import { compileConfigEntries, compileEntry, type BeatEntry } from './entry.js';
import { effectiveEntries, listEntries, type BeatListing } from './listing.js';
import { openBeatStore } from './open-store.js';
import type { BeatLogger } from './scheduler.js';
import type { BeatStore } from './store.js';

/** Runtime schedule changes and listing, for one app. */
export class BeatControl {
  #store: Promise<BeatStore> | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: BeatLogger,
  ) {}

  /** The store (opened on first use). */
  store(): Promise<BeatStore> {
    if (!this.#store) {
      const opening = openBeatStore(this.config, this.log);
      opening.catch(() => {
        if (this.#store === opening) this.#store = undefined;
      });
      this.#store = opening;
    }
    return this.#store;
  }

  /** Add or replace entry `name`. Throws InvalidScheduleError (naming the field) for a bad entry. */
  async set(name: string, entry: BeatEntry): Promise<void> {
    const checked = compileEntry(name, entry, 'runtime', this.config.timezone);
    await (await this.store()).setEntry(name, { entry: checked.spec, source: 'runtime', since: Date.now() });
  }

  /** Remove entry `name`; false when there was none. A config entry comes back when the next leader starts. */
  async remove(name: string): Promise<boolean> {
    return (await this.store()).removeEntry(name);
  }

  /** The schedule as a leader would run it, with last and next runs. */
  async list(now = Date.now()): Promise<BeatListing[]> {
    const store = await this.store();
    const [stored, state] = await Promise.all([store.entries(), store.readState()]);
    return listEntries(effectiveEntries(compileConfigEntries(this.config), stored, this.config.timezone), state, now);
  }

  /** Close the store's connection, if one was opened. */
  async close(): Promise<void> {
    const s = this.#store;
    this.#store = undefined;
    if (s) await (await s.catch(() => undefined))?.close();
  }
}
