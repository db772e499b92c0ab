/**
 * What a worker remembers of the tasks it parked in the broker (an eta past the in-memory
 * horizon: handed back with a delay, acked here, see Worker#park), so `inspect scheduled` and
 * `query_task` list them as a Python worker lists the eta tasks it holds, and the task-received
 * event is sent once, when the task first arrives, not again when it comes back.
 *
 * Only a small record per task (its request as `inspect` shows it), bounded by `limit`. A
 * parked task may come back to another worker of the queue: its record here is dropped once
 * it is past due by `graceMs`.
 */

/** One parked task as `inspect scheduled` lists it. */
export interface ParkedTask {
  /** Epoch ms it is due. */
  due: number;
  /** The eta header, as sent. */
  eta: string;
  /** The request as `inspect` shows requests (jobInfo). */
  request: Record<string, unknown>;
}

/** The tasks this worker parked and has not seen back yet. */
export class ParkedTasks {
  readonly #byId = new Map<string, ParkedTask>();

  constructor(
    private readonly limit = 10_000,
    private readonly graceMs = 10_000,
  ) {}

  /** Remember a parked task (a full registry first drops what is past due; then refuses). */
  add(id: string, task: ParkedTask): void {
    if (this.#byId.size >= this.limit) this.#prune(Date.now());
    if (this.#byId.size < this.limit || this.#byId.has(id)) this.#byId.set(id, task);
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  /** Forget `id` (it came back, or was revoked on arrival); true if it was parked here. */
  take(id: string): boolean {
    return this.#byId.delete(id);
  }

  /** The parked tasks still to come back, with their ids. */
  entries(now = Date.now()): [string, ParkedTask][] {
    this.#prune(now);
    return [...this.#byId];
  }

  #prune(now: number): void {
    for (const [id, t] of this.#byId) if (t.due + this.graceMs < now) this.#byId.delete(id);
  }
}
