/**
 * What only remote control can tell about a worker (pool, queues, registered tasks, conf...),
 * asked with Celery's inspect broadcasts like Flower's inspector: for a worker when it first
 * shows up, for one worker after an action changed it, and for all every `intervalMs`.
 * Replies are scrubbed of secrets before they are kept.
 */
import type { ControlClient } from '../client/control.js';
import type { LiveState } from './live-state.js';
import { scrub } from './scrub.js';
import { INSPECT_METHODS, type InspectMethod } from './worker-store.js';

/** Seconds each inspect broadcast waits for replies. */
const INSPECT_TIMEOUT = 1;
/** How often one worker's missed inspect replies are asked again. */
const RETRIES = 3;

/** Keeps LiveState's workers' inspect replies fresh. */
export class Inspector {
  #timer: NodeJS.Timeout | undefined;
  /** Workers with an inspect pending, so a burst of events asks once. */
  readonly #pending = new Set<string>();
  #closed = false;

  constructor(
    private readonly control: () => Promise<ControlClient>,
    private readonly state: LiveState,
    private readonly onError: (err: unknown) => void,
    readonly intervalMs = 30_000,
  ) {}

  /** Inspect everyone now, then every intervalMs. */
  start(): void {
    void this.refresh();
    this.#timer = setInterval(() => void this.refresh(), this.intervalMs).unref();
  }

  /**
   * Ask every method of `worker` (or every worker); resolves when the replies are in. A worker
   * that just started may be too busy to answer them all in time (a Python solo worker answers
   * one at a time): what it missed is asked again, up to RETRIES times.
   */
  async refresh(worker?: string, methods: readonly InspectMethod[] = INSPECT_METHODS, attempt = 0): Promise<void> {
    if (this.#closed) return;
    if (worker !== undefined) {
      if (this.#pending.has(worker)) return;
      this.#pending.add(worker);
    }
    try {
      const control = await this.control();
      const destination = worker === undefined ? {} : { destination: [worker] };
      const missed: InspectMethod[] = [];
      await Promise.all(
        methods.map(async (method) => {
          const replies = await control.broadcast(method, method === 'active' ? { safe: true } : {}, { timeout: INSPECT_TIMEOUT, ...destination });
          if (worker !== undefined && !(worker in replies)) missed.push(method);
          for (const [name, reply] of Object.entries(replies)) {
            if (reply && typeof reply === 'object' && !Array.isArray(reply) && 'error' in reply && Object.keys(reply).length === 1) continue;
            this.state.workers.setInspect(name, method, scrub(reply));
            this.state.touchWorker(name);
          }
        }),
      );
      if (worker !== undefined && missed.length && attempt < RETRIES) {
        this.#pending.delete(worker);
        return await this.refresh(worker, missed, attempt + 1);
      }
    } catch (err) {
      if (!this.#closed) this.onError(err);
    } finally {
      if (worker !== undefined) this.#pending.delete(worker);
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }
}
