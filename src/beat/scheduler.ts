/**
 * The scheduler loop: one per beat instance, with its store, sender and clock injected.
 *
 *   standby --(store.tryLead() wins)--> leading --(signal aborts: lock lost)--> standby
 *      ^                                   |
 *      +-------------(stop(): release)-----+--> stopped
 *
 * While leading, each round: plan (plan.ts) -> send the due ticks, pipelined, each awaited
 * until the broker confirms it -> record their fire times in one state write. Send first,
 * record second: a leader that dies between the two leaves ticks the next leader sends again
 * (with the same task ids, tick-id.ts), never ticks nobody sends. The window is the time from the
 * broker's confirm to the state write (sub-millisecond on a SIGKILL).
 */
import { EventEmitter } from 'node:events';
import { LeadershipLostError } from '../core/errors.js';
import type { Clock } from './clock.js';
import { compileEntry, sameSpec, type CompiledEntry } from './entry.js';
import { plan, recordSent, type Tick } from './plan.js';
import type { BeatStore, Leadership, StoredEntry } from './store.js';

/** The logging the loop needs (pino's shape). */
export interface BeatLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Publishes one tick; resolves once the broker has it. */
export type SendTick = (tick: Tick, taskId: string) => Promise<void>;

/** What a scheduler needs. */
export interface SchedulerOptions {
  store: BeatStore;
  /** Entries from the config, already checked (they win over stored copies on start). */
  configEntries: readonly CompiledEntry[];
  /** Zone for crontabs without their own. */
  defaultTz: string;
  send: SendTick;
  /** Task id for a tick (tick-id.ts). */
  taskId: (entry: string, due: number) => string;
  clock: Clock;
  log: BeatLogger;
  /** How often a standby tries to lead and a leader refreshes its lock and rereads entries, ms. */
  pollMs: number;
  /** How late a missed tick may be sent (ms); null: however late. */
  graceMs: number | null;
  /**
   * False while ticks cannot be sent (the app's broker connection is down): this instance then
   * does not stand for leader, so after an outage the instance whose connection is back first
   * leads, instead of one that wins the election and then holds every tick until its own
   * reconnect backoff ends. Default: always true.
   */
  canSend?: () => boolean;
}

/** Events: 'leading', 'standby', 'sent' (tick, id), 'skipped' (skip). */
export class Scheduler extends EventEmitter {
  #role: 'new' | 'standby' | 'leading' | 'stopped' = 'new';
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  /** Compiled stored entries by name, reused while their spec is unchanged. */
  readonly #compiled = new Map<string, { stored: StoredEntry; entry: CompiledEntry | undefined }>();

  constructor(readonly options: SchedulerOptions) {
    super();
  }

  /** 'standby' while another instance leads, 'leading' while this one sends. */
  get role(): string {
    return this.#role;
  }

  /** Start the loop (returns at once). */
  start(): void {
    if (this.#running) return;
    this.#role = 'standby';
    this.#running = this.#run();
  }

  /** Stop: finish the round in progress, release the lock, resolve when done. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    this.#role = 'stopped';
  }

  async #run(): Promise<void> {
    const { store, clock, log, pollMs } = this.options;
    const stop = this.#stop.signal;
    let waiting = false;
    let unreachable: string | undefined;
    let unsendable = false;
    while (!stop.aborted) {
      if (this.options.canSend && !this.options.canSend()) {
        if (!unsendable) log.info({}, 'beat: the broker connection is down; standing for leader once it is back');
        unsendable = true;
        waiting = false;
        await clock.sleep(pollMs, stop);
        continue;
      }
      unsendable = false;
      let lead: Leadership | undefined;
      let failed = false;
      try {
        lead = await store.tryLead();
        unreachable = undefined;
      } catch (err) {
        failed = true;
        // Once per distinct error, not every poll: a broker outage must not flood the log.
        const message = (err as Error).message;
        if (message !== unreachable) log.warn({ err: message, store: store.description }, 'beat: could not reach the store to elect a leader; retrying');
        unreachable = message;
      }
      if (!lead) {
        if (!waiting && !failed) log.info({ store: store.description }, 'beat: another instance leads; standing by');
        waiting = !failed;
        await clock.sleep(pollMs, stop);
        continue;
      }
      waiting = false;
      try {
        await this.#leadWith(lead);
      } catch (err) {
        if (err instanceof LeadershipLostError || lead.signal.aborted) log.warn({ err: (err as Error).message }, 'beat: lost leadership; standing by');
        else log.error({ err }, 'beat: leader loop failed; standing by');
      }
      await lead.release().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'beat: could not release the lock'));
      if (!stop.aborted) {
        this.#role = 'standby';
        this.emit('standby');
        await clock.sleep(pollMs, stop);
      }
    }
  }

  async #leadWith(lead: Leadership): Promise<void> {
    const { clock, log, pollMs, graceMs } = this.options;
    const active = AbortSignal.any([lead.signal, this.#stop.signal]);
    let state = await lead.readState();
    await this.#reconcile(lead);
    let entries = await this.#sync(lead);
    this.#role = 'leading';
    log.info({ entries: entries.length, store: this.options.store.description }, 'beat: leading: this instance sends the schedule');
    this.emit('leading');
    let refreshAt = clock.now() + pollMs;
    let unsaved = false;
    while (!active.aborted) {
      let now = clock.now();
      if (now >= refreshAt) {
        await lead.refresh();
        if (active.aborted) break;
        entries = await this.#sync(lead);
        now = clock.now();
        refreshAt = now + pollMs;
      }
      const p = plan(entries, state, now, graceMs);
      for (const s of p.skip) {
        log.warn(
          { entry: s.entry.name, task: s.entry.task, due: new Date(s.due).toISOString(), lateSeconds: Math.round(s.lateMs / 1000) },
          `beat: skipped the run of ${s.entry.name} due at ${new Date(s.due).toISOString()}: later than beatStartingDeadline`,
        );
        this.emit('skipped', s);
      }
      let retryAt: number | undefined;
      if (p.send.length > 0) {
        // Stage the state as if every send succeeds, while they are sent: after the confirms
        // only a commit remains, which keeps the resend window as small as the store allows.
        const prepared = lead.prepareState?.(recordSent(p.state, p.send)).catch(() => undefined);
        const sent = await this.#sendAll(p.send, () => !lead.signal.aborted && !this.#stop.signal.aborted);
        if (sent.length < p.send.length) retryAt = clock.now() + Math.min(pollMs, 1000);
        const staged = await prepared;
        if (lead.signal.aborted) {
          await staged?.discard();
          break; // never record after losing the lock: the new leader owns the state
        }
        state = recordSent(p.state, sent);
        unsaved = true;
        if (staged && sent.length === p.send.length) {
          try {
            await staged.commit();
            unsaved = false;
          } catch (err) {
            if (err instanceof LeadershipLostError) throw err;
          }
        } else await staged?.discard();
      } else if (p.changed) {
        state = p.state;
        unsaved = true;
      }
      if (unsaved) {
        try {
          await lead.writeState(state);
          unsaved = false;
        } catch (err) {
          if (err instanceof LeadershipLostError) throw err;
          // Keep leading on the state in memory (nothing is sent twice by this instance) and retry.
          log.error({ err: (err as Error).message }, 'beat: could not record the schedule state; retrying');
          retryAt = clock.now() + Math.min(pollMs, 1000);
        }
      }
      const wakeAt = Math.min(p.wakeAt ?? Number.POSITIVE_INFINITY, refreshAt, retryAt ?? Number.POSITIVE_INFINITY);
      const wait = wakeAt - clock.now();
      if (wait > 0) await clock.sleep(wait, active);
    }
    if (lead.signal.aborted) throw new LeadershipLostError('the leader lock was lost');
  }

  /** Send ticks concurrently (one confirm round trip for all); the ones that went out. */
  async #sendAll(ticks: Tick[], leading: () => boolean): Promise<Tick[]> {
    const { log, send, taskId } = this.options;
    const results = await Promise.allSettled(
      ticks.map(async (tick) => {
        if (!leading()) throw new LeadershipLostError('not the leader any more');
        const id = taskId(tick.entry.name, tick.due);
        log.info(
          { entry: tick.entry.name, task: tick.entry.task, id, due: new Date(tick.due).toISOString(), ...(tick.coalesced ? { coalesced: true } : {}) },
          `Scheduler: Sending due task ${tick.entry.name} (${tick.entry.task})`,
        );
        await send(tick, id);
        this.emit('sent', tick, id);
        return tick;
      }),
    );
    const sent: Tick[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') sent.push(r.value);
      else log.error({ entry: ticks[i]!.entry.name, err: (r.reason as Error)?.message }, 'beat: could not send a due task; will retry');
    });
    return sent;
  }

  /** On taking the lead: config entries overwrite their stored copies; ones gone from the config go. */
  async #reconcile(lead: Leadership): Promise<void> {
    const { configEntries, clock, log } = this.options;
    const stored = await lead.entries();
    const set = new Map<string, StoredEntry>();
    for (const c of configEntries) {
      const s = stored.get(c.name);
      if (s && s.source === 'config' && sameSpec(s.entry, c.spec)) continue;
      if (s?.source === 'runtime') log.info({ entry: c.name }, `beat: the config's entry ${c.name} replaces the runtime one of that name`);
      set.set(c.name, { entry: c.spec, source: 'config', since: clock.now() });
    }
    const configNames = new Set(configEntries.map((c) => c.name));
    const remove = [...stored].filter(([name, s]) => s.source === 'config' && !configNames.has(name)).map(([name]) => name);
    for (const name of remove) log.info({ entry: name }, `beat: entry ${name} is no longer in the config; removed`);
    if (set.size > 0 || remove.length > 0) await lead.applyEntries(set, remove);
  }

  /** The entries to schedule: the stored ones, compiled (a bad one is logged once and left out). */
  async #sync(lead: Leadership): Promise<CompiledEntry[]> {
    const stored = await lead.entries();
    for (const name of this.#compiled.keys()) {
      if (stored.has(name)) continue;
      this.#compiled.delete(name);
      if (this.#role === 'leading') this.options.log.info({ entry: name }, `beat: entry ${name} removed`);
    }
    const out: CompiledEntry[] = [];
    for (const [name, s] of stored) {
      let c = this.#compiled.get(name);
      if (!c || c.stored.since !== s.since || !sameSpec(c.stored.entry, s.entry)) {
        let entry: CompiledEntry | undefined;
        try {
          entry = compileEntry(name, s.entry, s.source, this.options.defaultTz, s.since);
        } catch (err) {
          this.options.log.error({ entry: name, err: (err as Error).message }, `beat: stored entry ${name} is invalid; not scheduled`);
        }
        if (c && entry) this.options.log.info({ entry: name, schedule: entry.schedule.describe() }, `beat: entry ${name} changed`);
        else if (entry && this.#role === 'leading') this.options.log.info({ entry: name, schedule: entry.schedule.describe() }, `beat: entry ${name} added`);
        c = { stored: s, entry };
        this.#compiled.set(name, c);
      }
      if (c.entry) out.push(c.entry);
    }
    return out;
  }
}
